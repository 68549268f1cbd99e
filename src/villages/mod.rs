//! Villages and the grids they are cut into.

pub mod handlers;
pub mod model;
pub mod repo;
