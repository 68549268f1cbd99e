//! `Idempotency-Key` for POSTs: the first answer to a key is stored per user and replayed for a repeat
//! with the same body; the same key with another body answers 422. Keys expire after 24 hours.
//!
//! Written once as middleware so that every POST endpoint gets it, except those that carry credentials
//! (`/auth/*`, `/me/password`): their answers are never stored.
//!
//! A crash between the write and the recording of its answer loses nothing: the write marks its key committed,
//! naming what it made, in its own transaction. A retry of such a key answers 303 See Other with the made
//! resource's `Location` (or, for one without an address, 409 naming it); a claim whose request never committed
//! expires after `ANZU_IDEMPOTENCY_LEASE_SECS`, and the retry then runs the request again.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::Conn;
use crate::db::schema::idempotency_keys as keys;
use crate::error::{ApiError, ConflictOnDuplicate};
use crate::http::auth;
use crate::state::AppState;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const KEY_TTL_HOURS: i64 = 24;
pub const MAX_KEY_LEN: usize = 255;

enum Claim {
    New,
    InProgress,
    Mismatch,
    Replay {
        status: u16,
        content_type: Option<String>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// The request committed, but its answer was never recorded (the process died in between).
    CommittedUnanswered {
        resource_type: Option<String>,
        resource_id: Option<String>,
    },
}

/// Response headers a replay carries besides the body and its type.
const REPLAYED_HEADERS: [HeaderName; 2] = [ETAG, LOCATION];

/// Joins the request's write transactions: marks the key committed, with the first entity the write recorded.
struct MarkCommitted {
    user_id: String,
    key: String,
}

impl crate::db::OnCommit for MarkCommitted {
    fn begin(&self) {
        crate::audit::note_first_entity();
    }

    fn before_commit(&self, conn: &mut Conn) -> Result<(), ApiError> {
        let resource = crate::audit::noted_entity();
        diesel::update(
            keys::table
                .filter(keys::user_id.eq(&self.user_id))
                .filter(keys::idempotency_key.eq(&self.key))
                .filter(keys::committed_at.is_null()),
        )
        .set((
            keys::committed_at.eq(Utc::now().naive_utc()),
            keys::resource_type.eq(resource.as_ref().map(|(kind, _)| kind.clone())),
            keys::resource_id.eq(resource.map(|(_, id)| id)),
        ))
        .execute(conn)?;
        Ok(())
    }
}

pub async fn replay_or_record(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some((caller, key)) = keyed_caller(&req)? else {
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
    let lease = Duration::seconds(state.settings.idempotency_lease_secs);
    let clock = state.clock.clone();
    let claim = state
        .db
        .write(move |conn| claim(conn, &user_id, &claim_key, &request_hash, lease, clock.now()))
        .await?;
    if let Some(answer) = answer_without_running(claim) {
        return Ok(req.into_response(answer?));
    }
    req.set_payload(Payload::from(body));
    run_and_record(state, caller.user_id, key, req, next).await
}

/// The caller and key of a POST that carries one (None: nothing to do here, because there is no key, the
/// endpoint holds credentials, or there is no valid token and the handler answers 401 itself).
fn keyed_caller(req: &ServiceRequest) -> Result<Option<(crate::auth::Caller, String)>, ApiError> {
    let key = match req.headers().get(HEADER) {
        Some(value) if req.method() == Method::POST && !holds_credentials(req.path()) => {
            value.to_str().unwrap_or("").to_owned()
        }
        _ => return Ok(None),
    };
    let Ok(caller) = auth::caller_of(req.request()) else {
        return Ok(None);
    };
    if !is_well_formed(&key) {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."
        )));
    }
    Ok(Some((caller, key)))
}

/// The answer to a key already claimed, without running the handler; None for a new key.
fn answer_without_running(claim: Claim) -> Option<Result<HttpResponse, ApiError>> {
    match claim {
        Claim::New => None,
        Claim::InProgress => Some(Err(ApiError::Conflict(
            "A request with this Idempotency-Key is still being processed.".into(),
        ))),
        Claim::Mismatch => Some(Err(ApiError::invalid(
            "Idempotency-Key",
            "reused",
            "This Idempotency-Key was used with a different request body.",
        ))),
        Claim::Replay {
            status,
            content_type,
            headers,
            body,
        } => {
            let mut response = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            if let Some(content_type) = content_type {
                response.insert_header((CONTENT_TYPE, content_type));
            }
            for (name, value) in headers {
                response.insert_header((name, value));
            }
            response.insert_header((REPLAYED, HeaderValue::from_static("true")));
            Some(Ok(response.body(body)))
        }
        Claim::CommittedUnanswered {
            resource_type,
            resource_id,
        } => {
            let location = resource_type
                .as_deref()
                .zip(resource_id.as_deref())
                .and_then(|(kind, id)| resource_path(kind, id));
            Some(Ok(match location {
                Some(location) => HttpResponse::SeeOther()
                    .insert_header((LOCATION, location))
                    .insert_header((REPLAYED, HeaderValue::from_static("true")))
                    .finish(),
                None => ApiError::Conflict(format!(
                    "This request was carried out before its answer could be recorded ({} {}).",
                    resource_type.as_deref().unwrap_or("change"),
                    resource_id.as_deref().unwrap_or("-"),
                ))
                .error_response(),
            }))
        }
    }
}

/// Runs the handler with the key claimed: a final answer is stored for replays; anything else (an error, a
/// 5xx or 429 worth retrying) releases the key.
async fn run_and_record(
    state: web::Data<AppState>,
    user_id: String,
    key: String,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let release = |state: web::Data<AppState>, user_id: String, key: String| async move {
        let released = state.db.write(move |conn| release(conn, &user_id, &key)).await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release an idempotency key");
        }
    };
    let hook = std::sync::Arc::new(MarkCommitted {
        user_id: user_id.clone(),
        key: key.clone(),
    });
    let response = match crate::db::with_commit_hook(hook, next.call(req)).await {
        Ok(response) => response,
        Err(err) => {
            release(state, user_id, key).await;
            return Err(err);
        }
    };
    let status = response.status();
    if !is_final(status) {
        release(state, user_id, key).await;
        return Ok(response.map_into_boxed_body());
    }
    let (http_req, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.map_err(|e| {
        let cause: Box<dyn std::error::Error> = e.into();
        ApiError::internal(anyhow::anyhow!("could not read the response body: {cause}"))
    })?;
    let answer = stored_answer(status, head.headers(), &bytes)?;
    state.db.write(move |conn| record(conn, &user_id, &key, answer)).await?;
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}

/// An answer as stored for replays: status, content type, the headers worth repeating, the body.
fn stored_answer(
    status: StatusCode,
    headers: &actix_web::http::header::HeaderMap,
    body: &[u8],
) -> Result<Answer, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let replayed: Vec<(String, String)> = REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    Ok(Answer {
        status: status.as_u16(),
        content_type,
        headers: serde_json::to_string(&replayed).map_err(ApiError::internal)?,
        body: body.to_vec(),
    })
}

/// 1 to `MAX_KEY_LEN` visible ASCII characters, spaces allowed inside (the document's pattern says the same).
fn is_well_formed(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len())
        && key.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !key.starts_with(' ')
        && !key.ends_with(' ')
}

/// Endpoints whose answers (token pairs) or requests (passwords) must never be stored: a retry runs
/// them again, which their own rules make safe (a refresh token works once).
pub fn holds_credentials(path: &str) -> bool {
    path.starts_with("/api/v1/auth/") || path == "/api/v1/me/password"
}

/// The API address of a resource an idempotent request made, where it has one.
fn resource_path(entity_type: &str, id: &str) -> Option<String> {
    let collection = match entity_type {
        "property" => "properties",
        "unit" => "units",
        "tenancy" => "tenancies",
        "inspection" => "inspections",
        "appeal" => "appeals",
        "photo" => "photos",
        "user" => "users",
        "training_session" => "training-sessions",
        _ => return None,
    };
    Some(format!("/api/v1/{collection}/{id}"))
}

/// The largest body the route takes: the ledger import's, a photo upload's, or every other route's. A body is
/// refused as early with a key as without.
fn body_limit(path: &str) -> usize {
    if path == crate::reports::handlers::IMPORT_PATH {
        crate::reports::handlers::MAX_IMPORT_BYTES
    } else if crate::photos::handlers::is_upload_path(path) {
        crate::photos::handlers::MAX_UPLOAD_BODY_BYTES
    } else {
        crate::http::json::MAX_BODY_BYTES
    }
}

/// Reads the whole body to hash it, within the route's own limit (413 past it, before reading when the
/// declared length says so already).
async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, ApiError> {
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    let limit = body_limit(req.path());
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| match err {
            actix_web::error::PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ApiError::RequestTimeout
            }
            _ => ApiError::BadRequest("The request body could not be read.".into()),
        })?;
        if body.len() + chunk.len() > limit {
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

type StoredKey = (
    String,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    Option<String>,
);

/// What is kept of the user's key, if anything.
fn stored_key(conn: &mut Conn, user_id: &str, key: &str) -> Result<Option<StoredKey>, ApiError> {
    Ok(keys::table
        .filter(keys::user_id.eq(user_id))
        .filter(keys::idempotency_key.eq(key))
        .select((
            keys::request_hash,
            keys::status_code,
            keys::content_type,
            keys::response_headers,
            keys::response_body,
            keys::created_at,
            keys::committed_at,
            keys::resource_type,
            keys::resource_id,
        ))
        .first(conn)
        .optional()?)
}

fn claim(
    conn: &mut Conn,
    user_id: &str,
    key: &str,
    request_hash: &str,
    lease: Duration,
    now: chrono::NaiveDateTime,
) -> Result<Claim, ApiError> {
    diesel::delete(keys::table.filter(keys::created_at.lt(now - Duration::hours(KEY_TTL_HOURS)))).execute(conn)?;
    let this_key = keys::table
        .filter(keys::user_id.eq(user_id))
        .filter(keys::idempotency_key.eq(key));
    let existing = stored_key(conn, user_id, key)?;
    let Some((hash, status, content_type, headers, body, claimed_at, committed_at, resource_type, resource_id)) =
        existing
    else {
        // Another request (or one whose process just died with its commit on the wire) may claim the same key
        // between the look above and this insert: then nothing is inserted, and the key is in progress.
        let inserted = crate::per_backend!(conn, |c| diesel::insert_into(keys::table)
            .values((
                keys::user_id.eq(user_id),
                keys::idempotency_key.eq(key),
                keys::request_hash.eq(request_hash),
                keys::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        return Ok(if inserted == 1 { Claim::New } else { Claim::InProgress });
    };
    Ok(match (status, committed_at) {
        _ if hash != request_hash => Claim::Mismatch,
        (Some(status), _) => Claim::Replay {
            status: status as u16,
            content_type,
            headers: headers.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default(),
            body: body.unwrap_or_default(),
        },
        (None, Some(_)) => Claim::CommittedUnanswered {
            resource_type,
            resource_id,
        },
        // Claimed by a request that never committed and is long gone (its process died): this one runs it.
        (None, None) if claimed_at < now - lease => {
            diesel::update(this_key).set(keys::created_at.eq(now)).execute(conn)?;
            Claim::New
        }
        (None, None) => Claim::InProgress,
    })
}

/// Takes a web form's one-time id inside the transaction of the change it makes: `false` when the form was
/// already sent (a second click, a resent request), so the change is made once. Kept as a key of the user's like
/// any other (and forgotten after a day); the space in its name is not a character an `Idempotency-Key` may hold,
/// so a form's id never meets a client's key.
pub fn take_form_once(
    conn: &mut Conn,
    user_id: &str,
    form_id: &str,
    now: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    let key = format!("console form {form_id}");
    let taken: i64 = keys::table
        .filter(keys::user_id.eq(user_id))
        .filter(keys::idempotency_key.eq(&key))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Ok(false);
    }
    // Two sends at the very same moment: the second meets the unique key (a failed statement ends a PostgreSQL
    // transaction, so it is answered as a conflict rather than passed over).
    diesel::insert_into(keys::table)
        .values((
            keys::user_id.eq(user_id),
            keys::idempotency_key.eq(&key),
            keys::request_hash.eq("console form"),
            keys::status_code.eq(303),
            keys::created_at.eq(now),
            keys::committed_at.eq(now),
        ))
        .execute(conn)
        .conflict_on_duplicate(|| "This form was already sent.".into())?;
    Ok(true)
}

/// An answer as stored for replays.
struct Answer {
    status: u16,
    content_type: Option<String>,
    /// `[[name, value], ...]` as JSON.
    headers: String,
    body: Vec<u8>,
}

fn record(conn: &mut Conn, user_id: &str, key: &str, answer: Answer) -> Result<(), ApiError> {
    diesel::update(
        keys::table
            .filter(keys::user_id.eq(user_id))
            .filter(keys::idempotency_key.eq(key)),
    )
    .set((
        keys::status_code.eq(i32::from(answer.status)),
        keys::content_type.eq(answer.content_type),
        keys::response_headers.eq(answer.headers),
        keys::response_body.eq(answer.body),
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
