ALTER TABLE idempotency_keys DROP COLUMN response_headers;
ALTER TABLE idempotency_keys DROP COLUMN resource_id;
ALTER TABLE idempotency_keys DROP COLUMN resource_type;
ALTER TABLE idempotency_keys DROP COLUMN committed_at;
