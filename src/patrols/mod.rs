//! Grid patrols (一日一巡): the daily rounds of grid workers, with what they found at each property.

pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;
