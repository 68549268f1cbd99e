DROP INDEX tenancies_retention_idx;
ALTER TABLE tenancies DROP COLUMN erased_at;
