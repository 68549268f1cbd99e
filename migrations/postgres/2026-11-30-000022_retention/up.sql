-- Personal data that expires (issue 16): a tenancy that ended more than ANZU_RETENTION_DAYS ago loses its
-- name, identity number and look-up hash, phone and employer; `erased_at` says when. The purge finds what is due
-- by the move-out date among the rows not yet erased.
ALTER TABLE tenancies ADD COLUMN erased_at TIMESTAMP NULL;
CREATE INDEX tenancies_retention_idx ON tenancies (move_out_date) WHERE erased_at IS NULL AND move_out_date IS NOT NULL;
