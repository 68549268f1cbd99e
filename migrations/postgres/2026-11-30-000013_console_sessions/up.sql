-- Sessions of the web console: the cookie's token is stored hashed; a session ends at logout, after an idle
-- time, at an absolute lifetime, or when its user's sessions are revoked (password set or changed, deactivation).
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
