-- Rate limits shared by every process on a PostgreSQL database (issue 17): one fixed-window count per key (a
-- client address and an endpoint, or an account). On SQLite one process serves and counts in memory; the table
-- is made there too so that both schemas stay the same.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    count INTEGER NOT NULL
);
