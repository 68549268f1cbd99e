//! Users, membership of the association, login and tokens.

pub mod handlers;
pub mod model;
pub mod password;
pub mod repo;
