DROP INDEX refresh_tokens_user_idx;
ALTER TABLE notices DROP COLUMN sealed_link;
DROP INDEX users_inactive_idx;
ALTER TABLE users DROP COLUMN active;
