//! Safety: the checklist, inspections and the star rating they yield (the pure engine is `crate::rating`, below every domain),
//! rectification orders, delisting, and the public rating with its door plaque.

pub mod appeals;
pub mod handlers;
pub mod model;
pub mod notices;
pub mod public;
pub mod public_changes;
pub mod repo;
pub mod service;
