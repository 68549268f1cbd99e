-- The notice outbox: each notice is written in the transaction of the event that causes it, rendered
-- once, and delivered by a worker that claims due rows.
CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL REFERENCES users(id),
    recipient_email TEXT NOT NULL,
    property_id TEXT REFERENCES properties(id),
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    -- queued, sending, sent or failed.
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    -- kind + subject + period: the same notice is never queued twice.
    dedupe_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX notices_due_idx ON notices (status, next_attempt_at);
CREATE INDEX notices_recipient_idx ON notices (recipient_id, id);
