DROP TABLE daily_runs;
