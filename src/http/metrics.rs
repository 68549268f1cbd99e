//! Request metrics in Prometheus text format at `/metrics`. Labels come from a closed set, so that no client
//! can grow the series without bound: the matched route pattern (`unmatched` for every other path), the method
//! (`OTHER` for any not in the API) and the status.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::error::ApiError;

/// The label of every request that matched no route.
const UNMATCHED: &str = "unmatched";

/// The counters and histograms of one server; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    token: Option<String>,
}

impl Metrics {
    pub fn new(token: Option<String>) -> anyhow::Result<Self> {
        let labels = ["endpoint", "method", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Requests answered").namespace("anzu"),
            &labels,
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new("http_requests_duration_seconds", "Time to answer a request, in seconds")
                .namespace("anzu"),
            &labels,
        )?;
        let registry = Registry::new();
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            durations,
            token,
        })
    }

    fn observe(&self, endpoint: &str, method: &Method, status: u16, started: Instant) {
        let status = status.to_string();
        let labels = [endpoint, method_label(method), status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.durations
            .with_label_values(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts every request under its route pattern.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let pattern = response.request().match_pattern();
        let endpoint = pattern.as_deref().unwrap_or(UNMATCHED);
        metrics.observe(endpoint, &method, response.status().as_u16(), started);
    }
    Ok(response)
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn export(req: HttpRequest, metrics: web::Data<Metrics>) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &metrics.token {
        let sent = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), token.as_bytes()) {
            return Err(ApiError::Unauthorized(
                "Send the metrics token as `Authorization: Bearer <token>`.".into(),
            ));
        }
    }
    let text = TextEncoder::new()
        .encode_to_string(&metrics.registry.gather())
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// Compares without an early exit, so the time taken says nothing about how much of the token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_fall_into_a_closed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"FOO").unwrap()), "OTHER");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"abc", b"abcd"));
    }
}
