//! Shared HTTP machinery used by every domain: authentication, JSON input, pagination, ETags,
//! idempotent replays, request ids and rate limiting.

pub mod auth;
pub mod body_deadline;
pub mod client_addr;
pub mod etag;
pub mod headers;
pub mod json;
pub mod metrics;
pub mod nul;
pub mod pagination;
pub mod query;
pub mod request_id;
pub mod root_span;

pub use client_addr::client_ip;
