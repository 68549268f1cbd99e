-- Accounts can be deactivated (every server reads the deactivated ids every few seconds, through the
-- partial index) and all their sessions revoked at once (by user); a notice can carry a one-time link
-- sealed under the data key, opened at delivery.
ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX users_inactive_idx ON users (id) WHERE NOT active;
ALTER TABLE notices ADD COLUMN sealed_link TEXT;
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
