//! What auditors read: the village summary (aggregate counts), the ledger (台账) as CSV, and the import
//! of existing spreadsheet ledgers.

pub mod handlers;
pub mod ledger;
pub mod model;
pub mod repo;
