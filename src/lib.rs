//! anzu (安租): the rental registry of a village landlord association.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod notices;
pub mod openapi;
pub mod ops;
pub mod patrols;
pub mod private_file;
pub mod rate_limit;
pub mod rating;
pub mod registry;
pub mod reports;
pub mod safety;
pub mod startup;
pub mod state;
pub mod text_enum;
pub mod validation;
pub mod villages;
