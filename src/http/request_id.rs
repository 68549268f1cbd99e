//! Makes the request id that `tracing-actix-web` puts in every log line visible to the client
//! (`X-Request-Id`) and to error rendering, which quotes it in 500 answers; logs one line per request.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::error::REQUEST_ID;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub async fn propagate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let mut response = REQUEST_ID.scope(id.clone(), next.call(req)).await?;
    tracing::info!(
        request_id = %id,
        %method,
        path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request handled"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}
