//! Bulk declaration: a factory's dormitory declares its workers by CSV, a unit at a time or a whole property
//! (the file then names each line's unit). Every line goes through the single declaration's own rules
//! (`service::prepare_tenant`, `service::record_declaration`), so the two cannot drift apart; the file is
//! checked, reported and committed as the ledger import is (`dry_run`, `partial`, `csv_import`).

pub mod handlers;
pub mod model;
pub mod service;
