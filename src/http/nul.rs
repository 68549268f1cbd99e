//! No NUL character reaches the database through an address: PostgreSQL cannot hold one (a 500 there), and no
//! path segment or query value of the API means one. A path holding `%00` names nothing (404); a query holding
//! one is malformed (400, naming each parameter). Bodies are checked by the JSON extractor.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::error::{ApiError, FieldError};

const ENCODED_NUL: &str = "%00";

pub async fn refuse(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path().contains(ENCODED_NUL) || req.path().contains('\0') {
        return Err(ApiError::NotFound.into());
    }
    if req.query_string().contains(ENCODED_NUL) {
        let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
        let mut fields: Vec<FieldError> = pairs
            .iter()
            .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
            .map(|(name, _)| FieldError::new(name.replace('\0', ""), "characters", "must not contain NUL characters"))
            .collect();
        if fields.is_empty() {
            fields.push(FieldError::new(
                "query",
                "characters",
                "must not contain NUL characters",
            ));
        }
        return Err(ApiError::MalformedQuery(fields).into());
    }
    next.call(req).await
}
