//! The `Caller` extractor that every protected handler takes: the request's bearer token, verified, of a
//! user not deactivated.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The caller named by the request's bearer token, if it carries a valid one and its user is not
/// deactivated (the in-memory revocation list, `auth::revocation`).
pub fn caller_of(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("Send an access token as `Authorization: Bearer <token>`.".into()))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized("The Authorization header must be `Bearer <token>`.".into()))?;
    let caller = state.tokens.verify(token)?;
    if state.revoked.contains(&caller.user_id) {
        return Err(ApiError::Unauthorized("The access token has been revoked.".into()));
    }
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(caller_of(req))
    }
}
