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

/// The `If-Match` precondition of a request. It is only read here; it is evaluated when the change is about
/// to be made, so that a request that fails for another reason first (no token, a bad body, an unknown
/// resource) gets that answer rather than 412.
#[derive(Debug, Clone, Copy)]
pub enum IfMatch {
    /// No header, or `*`: any version.
    Any,
    /// The version an ETag of this service names.
    Version(i32),
    /// A value that is no ETag this service issued: it matches no version.
    Foreign,
}

impl IfMatch {
    /// Refuses with 412 when the precondition names a version other than `current`.
    pub fn check(&self, current: i32) -> Result<(), ApiError> {
        match *self {
            IfMatch::Any => Ok(()),
            IfMatch::Version(expected) if expected == current => Ok(()),
            IfMatch::Version(_) => Err(ApiError::PreconditionFailed(format!(
                "The resource is at version {current}; reload it and try again."
            ))),
            IfMatch::Foreign => Err(ApiError::PreconditionFailed(
                "If-Match must be an ETag this service issued.".into(),
            )),
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let parsed = match req.headers().get(IF_MATCH) {
            None => IfMatch::Any,
            Some(value) => {
                let text = value.to_str().unwrap_or("").trim();
                if text == "*" {
                    IfMatch::Any
                } else {
                    text.trim_start_matches("W/")
                        .trim_matches('"')
                        .parse::<i32>()
                        .map_or(IfMatch::Foreign, IfMatch::Version)
                }
            }
        };
        std::future::ready(Ok(parsed))
    }
}

/// A JSON answer carrying the resource's version as its `ETag`.
pub fn versioned<T: Serialize + Versioned>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((ETAG, format!("\"{}\"", body.version())))
        .json(body)
}
