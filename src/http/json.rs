//! The JSON body extractor: content type checked (415), size limited (413), syntax errors 400, and
//! shape errors and `validator` rules as 422 naming each field. Also the error handlers that make
//! actix's own query and path extractors answer problem+json.

use actix_web::dev::Payload;
use actix_web::error::{PayloadError, QueryPayloadError};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::{ApiError, FieldError};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A JSON request body that parsed and passed its `validator` rules.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "Send the body as application/json.".into(),
                ));
            }
            let bytes = body.await.map_err(payload_error)?;
            let value = parse::<T>(&bytes)?;
            value.validate()?;
            Ok(Json(value))
        })
    }
}

/// A request body as bytes (a CSV upload), with the size limit answering 413 as problem+json.
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move { body.await.map(RawBody).map_err(payload_error) })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Parses JSON, telling a malformed document (400) from a well-formed one of the wrong shape (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let inner = err.inner();
        if !inner.is_data() {
            return ApiError::BadRequest(format!("The body is not valid JSON: {inner}."));
        }
        let message = inner.to_string();
        let path = err.path().to_string();
        let field = match (path.as_str(), missing_field(&message)) {
            (".", Some(name)) => name.to_owned(),
            (_, Some(name)) => format!("{path}.{name}"),
            // An unknown field's path already ends with its name.
            (".", None) => unknown_field(&message).unwrap_or("body").to_owned(),
            _ => path,
        };
        let code = if message.starts_with("missing field") {
            "required"
        } else if message.starts_with("unknown field") {
            "not_allowed"
        } else {
            "type"
        };
        ApiError::Validation(vec![FieldError::new(field, code, strip_position(&message))])
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}.")))?;
    Ok(value)
}

fn unknown_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn payload_error(err: actix_web::Error) -> ApiError {
    match err.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        Some(PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut => ApiError::RequestTimeout,
        _ => ApiError::BadRequest("The request body could not be read.".into()),
    }
}

/// For `PATCH` fields that may be cleared: absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Query strings that do not parse answer 400 naming the problem.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("The query string is malformed: {err}.")).into()
}

/// Path segments that do not parse answer 404: no such resource.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        id_number: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        tenant: Inner,
    }

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::Validation(fields) => fields[0].field.clone(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn names_missing_and_mistyped_fields() {
        assert_eq!(
            field_of(parse::<Outer>(br#"{"tenant":{"id_number":"1"}}"#).unwrap_err()),
            "name"
        );
        assert_eq!(
            field_of(parse::<Outer>(br#"{"name":"a","tenant":{}}"#).unwrap_err()),
            "tenant.id_number"
        );
        assert_eq!(
            field_of(parse::<Outer>(br#"{"name":5,"tenant":{"id_number":"1"}}"#).unwrap_err()),
            "name"
        );
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(parse::<Outer>(b"{\"name\":"), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse::<Outer>(b"not json"), Err(ApiError::BadRequest(_))));
    }
}
