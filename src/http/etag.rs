//! Versions as ETags: single resources answer `ETag: "<version>"`, and a change sent with
//! `If-Match` that names another version is refused with 412.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_MATCH};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::ApiError;

/// A resource that carries a version.
pub trait Versioned {
    fn version(&self) -> i32;
}

/// The `If-Match` precondition of a request: `None` when absent or `*`.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i32>);

impl IfMatch {
    /// Refuses with 412 when the precondition names a version other than `current`.
    pub fn check(&self, current: i32) -> Result<(), ApiError> {
        match self.0 {
            Some(expected) if expected != current => Err(ApiError::PreconditionFailed(format!(
                "The resource is at version {current}; reload it and try again."
            ))),
            _ => Ok(()),
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let parsed = match req.headers().get(IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => {
                let text = value.to_str().unwrap_or("").trim();
                if text == "*" {
                    Ok(IfMatch(None))
                } else {
                    text.trim_start_matches("W/")
                        .trim_matches('"')
                        .parse::<i32>()
                        .map(|v| IfMatch(Some(v)))
                        .map_err(|_| {
                            ApiError::PreconditionFailed("If-Match must be an ETag this service issued.".into())
                        })
                }
            }
        };
        std::future::ready(parsed)
    }
}

/// A JSON answer carrying the resource's version as its `ETag`.
pub fn versioned<T: Serialize + Versioned>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((ETAG, format!("\"{}\"", body.version())))
        .json(body)
}
