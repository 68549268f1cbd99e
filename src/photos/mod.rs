//! Photo evidence: inspectors' photos of failed items, owners' photos of the fix on a rectification order; each
//! re-encoded without its metadata (`image`), its bytes behind a storage interface (`store`). See docs/photos.md.

pub mod handlers;
pub mod image;
pub mod model;
pub mod repo;
pub mod service;
pub mod store;
