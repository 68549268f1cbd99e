-- The daily jobs (the compliance sweep, the purge) run once a day across every process on the database: the
-- first process to claim a job's day runs it; a claim that was not finished by `claimed_until` (its process
-- died) may be taken over.
CREATE TABLE daily_runs (
    job TEXT NOT NULL,
    day DATE NOT NULL,
    runner TEXT NOT NULL,
    claimed_until TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    report TEXT,
    PRIMARY KEY (job, day)
);
