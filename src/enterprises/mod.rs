//! Enterprises that rent units or whole properties, often as worker dormitories (房企对接, issue 16): the
//! enterprise record with its unified social credit code (`uscc`), and the current lease of a unit or a property,
//! which tenancies declared there carry.

pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;
pub mod uscc;
