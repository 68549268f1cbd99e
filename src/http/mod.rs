//! Shared HTTP machinery used by every domain: authentication, JSON input, pagination, ETags,
//! idempotent replays, request ids and rate limiting.

pub mod auth;
pub mod etag;
pub mod idempotency;
pub mod json;
pub mod pagination;
pub mod rate_limit;
pub mod request_id;

use std::net::IpAddr;

/// The client's address: the TCP peer, or, behind a trusted reverse proxy (`ANZU_TRUST_PROXY`), the
/// address it reports in `Forwarded` / `X-Forwarded-For`. Rate limits count per this address.
pub fn client_ip(req: &actix_web::HttpRequest, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy
        && let Some(ip) = req.connection_info().realip_remote_addr().and_then(|a| {
            a.parse::<IpAddr>()
                .ok()
                .or_else(|| a.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        })
    {
        return Some(ip);
    }
    req.peer_addr().map(|a| a.ip())
}
