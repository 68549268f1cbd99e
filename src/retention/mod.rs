//! Personal data that expires. China's PIPL asks that personal information be kept no longer than its purpose
//! needs: a tenancy that ended more than `ANZU_RETENTION_DAYS` ago loses its tenant's name, identity number
//! and look-up hash, phone and employer (erased, not hidden), keeping what statistics need (birth year,
//! gender, origin, dates). The notices that named the tenant lose their bodies and the audit events their
//! masked number. Runs daily after the compliance sweep, and as `anzu purge [--dry-run]`.

pub mod repo;
pub mod service;
