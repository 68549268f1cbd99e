//! What a landlord may answer a rating with: an appeal against an inspection (decided by staff who did not
//! inspect), a request for a re-rating after fixing what failed, and a short public reply beside the rating.
//! The inspection service closes re-rating requests and upheld appeals when it records the next inspection.

pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;
