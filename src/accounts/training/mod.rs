//! Landlord training (培训): sessions staff hold in a village and the landlords who attended. A landlord's training
//! is valid until the latest attendance's date plus `ANZU_TRAINING_VALID_MONTHS`; the user answer carries it, the
//! summary counts who is untrained or lapsed, and the sweep reminds before it lapses. Inside `accounts` because
//! the user answer reads it.

pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;
