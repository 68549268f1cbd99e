//! A request body must arrive within `ANZU_BODY_TIMEOUT_SECS` of the request: actix bounds the time to send
//! the head, not the body, so a client trickling a byte now and then could hold a connection and a worker's
//! buffer for ever. Past the deadline the body reads as failed and the request answers 408.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use futures_util::StreamExt;

/// How long a request's body may take to arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Duration);

/// The error a body that came too slowly reads as.
pub fn timed_out() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the request body did not arrive in time",
    ))
}

pub async fn enforce(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let has_body = req.headers().contains_key(TRANSFER_ENCODING)
        || req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if let Some(limit) = req.app_data::<web::Data<BodyDeadline>>().map(|d| d.0)
        && has_body
    {
        let deadline = tokio::time::Instant::now() + limit;
        let payload = req.take_payload();
        // Fused: a reader may poll again after the end (the multipart parser does), which `unfold` forbids.
        let bounded = futures_util::stream::unfold(Some(payload), move |state| async move {
            let mut payload = state?;
            match tokio::time::timeout_at(deadline, payload.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(payload))),
                Ok(None) => None,
                Err(_) => Some((Err(timed_out()), None)),
            }
        })
        .fuse();
        req.set_payload(Payload::from(
            Box::pin(bounded) as std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>>
        ));
    }
    next.call(req).await
}
