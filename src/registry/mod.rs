//! The register: properties, their units, and the tenants declared in them, with identity data
//! protected (`identity` parses and masks numbers, `crypto` encrypts and hashes them).

pub mod declare;
pub mod handlers;
pub mod identity;
pub mod import;
pub mod model;
pub mod notices;
pub mod repo;
pub mod service;
