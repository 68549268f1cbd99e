DROP TABLE audit_events;
DROP TABLE idempotency_keys;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE grids;
DROP TABLE villages;
