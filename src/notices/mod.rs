//! Compliance notices by e-mail: a durable outbox written in the same transaction as the event that
//! causes each notice, rendered once from templates, delivered by a worker with retries, and the daily
//! compliance sweep that finds overdue work.

pub mod handlers;
pub mod mailer;
pub mod model;
pub mod outbox;
pub mod repo;
pub mod sealed;
pub mod service;
pub mod templates;
pub mod worker;
