-- An Idempotency-Key survives a crash: the write it guards marks it committed, naming what it made, in the same
-- transaction; the answer's ETag and Location are kept with its body so that a replay is the first answer whole.
ALTER TABLE idempotency_keys ADD COLUMN committed_at TIMESTAMP;
ALTER TABLE idempotency_keys ADD COLUMN resource_type TEXT;
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT;
ALTER TABLE idempotency_keys ADD COLUMN response_headers TEXT;
