//! The risk-based plans: which properties inspectors should inspect next (`GET /inspections/plan`), and which a
//! grid's patrol should visit (`GET /grids/{id}/patrol-plan`). Computed when read, from a narrow projection of the
//! register, its inspections, orders and patrols; the rules are `risk`.

pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;
