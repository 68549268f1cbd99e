//! `Idempotency-Key` for POSTs: the first answer to a key is stored per user and replayed for a repeat
//! with the same body; the same key with another body answers 422. Keys expire after 24 hours.
//!
//! Written once as middleware so that every POST endpoint gets it, except those that carry credentials
//! (`/auth/*`, `/me/password`): their answers are never stored.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::Conn;
use crate::db::schema::idempotency_keys as keys;
use crate::error::ApiError;
use crate::http::auth;
use crate::startup::AppState;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const KEY_TTL_HOURS: i64 = 24;
const MAX_KEY_LEN: usize = 255;

enum Claim {
    New,
    InProgress,
    Mismatch,
    Replay {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
}

pub async fn replay_or_record(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = match req.headers().get(HEADER) {
        Some(value) if req.method() == Method::POST && !holds_credentials(req.path()) => {
            value.to_str().unwrap_or("").to_owned()
        }
        _ => {
            return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
        }
    };
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::BadRequest(format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} characters.")).into());
    }
    // Without a valid token the handler answers 401 itself; keys belong to users.
    let Ok(caller) = auth::caller_of(req.request()) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let body = read_body(&mut req).await?;
    let request_hash = hash_request(req.method().as_str(), req.path(), req.query_string(), &body);

    let user_id = caller.user_id.clone();
    let claim_key = key.clone();
    let claim = state
        .db
        .write(move |conn| claim(conn, &user_id, &claim_key, &request_hash))
        .await?;
    match claim {
        Claim::New => {}
        Claim::InProgress => {
            return Err(
                ApiError::Conflict("A request with this Idempotency-Key is still being processed.".into()).into(),
            );
        }
        Claim::Mismatch => {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "reused",
                "This Idempotency-Key was used with a different request body.",
            )
            .into());
        }
        Claim::Replay {
            status,
            content_type,
            body,
        } => {
            let mut response = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            if let Some(content_type) = content_type {
                response.insert_header((CONTENT_TYPE, content_type));
            }
            response.insert_header((REPLAYED, HeaderValue::from_static("true")));
            return Ok(req.into_response(response.body(body)));
        }
    }

    req.set_payload(Payload::from(body));
    let release = |state: web::Data<AppState>, user_id: String, key: String| async move {
        let released = state.db.write(move |conn| release(conn, &user_id, &key)).await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release an idempotency key");
        }
    };
    let response = match next.call(req).await {
        Ok(response) => response,
        Err(err) => {
            release(state, caller.user_id, key).await;
            return Err(err);
        }
    };
    let status = response.status();
    if !is_final(status) {
        release(state, caller.user_id, key).await;
        return Ok(response.map_into_boxed_body());
    }
    let (http_req, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("could not read the response body")))?;
    let content_type = head
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let stored = bytes.to_vec();
    state
        .db
        .write(move |conn| record(conn, &caller.user_id, &key, status.as_u16(), content_type, stored))
        .await?;
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}

/// Endpoints whose answers (token pairs) or requests (passwords) must never be stored: a retry runs
/// them again, which their own rules make safe (a refresh token works once).
fn holds_credentials(path: &str) -> bool {
    path.starts_with("/api/v1/auth/") || path == "/api/v1/me/password"
}

/// Reads the whole body to hash it, up to the largest any endpoint accepts; the handler's own
/// extractor then applies that endpoint's limit to the body put back.
async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, ApiError> {
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("The request body could not be read.".into()))?;
        if body.len() + chunk.len() > crate::reports::handlers::MAX_IMPORT_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Answers worth replaying: successes and the client's own mistakes, but not a missing login,
/// a rate limit or a server failure, which a retry may get past.
fn is_final(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT)
}

fn hash_request(method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), query.as_bytes(), body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

fn claim(conn: &mut Conn, user_id: &str, key: &str, request_hash: &str) -> Result<Claim, ApiError> {
    let now = Utc::now().naive_utc();
    diesel::delete(keys::table.filter(keys::created_at.lt(now - Duration::hours(KEY_TTL_HOURS)))).execute(conn)?;
    let existing = keys::table
        .filter(keys::user_id.eq(user_id))
        .filter(keys::idempotency_key.eq(key))
        .select((
            keys::request_hash,
            keys::status_code,
            keys::content_type,
            keys::response_body,
        ))
        .first::<(String, Option<i32>, Option<String>, Option<Vec<u8>>)>(conn)
        .optional()?;
    Ok(match existing {
        None => {
            diesel::insert_into(keys::table)
                .values((
                    keys::user_id.eq(user_id),
                    keys::idempotency_key.eq(key),
                    keys::request_hash.eq(request_hash),
                    keys::created_at.eq(now),
                ))
                .execute(conn)?;
            Claim::New
        }
        Some((hash, _, _, _)) if hash != request_hash => Claim::Mismatch,
        Some((_, Some(status), content_type, body)) => Claim::Replay {
            status: status as u16,
            content_type,
            body: body.unwrap_or_default(),
        },
        Some((_, None, _, _)) => Claim::InProgress,
    })
}

fn record(
    conn: &mut Conn,
    user_id: &str,
    key: &str,
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
) -> Result<(), ApiError> {
    diesel::update(
        keys::table
            .filter(keys::user_id.eq(user_id))
            .filter(keys::idempotency_key.eq(key)),
    )
    .set((
        keys::status_code.eq(i32::from(status)),
        keys::content_type.eq(content_type),
        keys::response_body.eq(body),
    ))
    .execute(conn)?;
    Ok(())
}

fn release(conn: &mut Conn, user_id: &str, key: &str) -> Result<(), ApiError> {
    diesel::delete(
        keys::table
            .filter(keys::user_id.eq(user_id))
            .filter(keys::idempotency_key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}
