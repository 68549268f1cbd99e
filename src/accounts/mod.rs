//! Users, membership of the association, login and tokens.

pub mod handlers;
pub mod links;
pub mod login;
pub mod model;
pub mod repo;
pub mod service;
pub mod training;
