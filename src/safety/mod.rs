//! Safety: the checklist, inspections and the star rating they yield (`rating` is the pure engine),
//! rectification orders, delisting, and the public rating with its door plaque.

pub mod handlers;
pub mod model;
pub mod public;
pub mod rating;
pub mod repo;
pub mod service;
