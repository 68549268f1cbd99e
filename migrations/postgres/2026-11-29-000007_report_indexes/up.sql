-- The summary counts active late declarations per village; only a few tenancies are late, so a partial
-- index holds just those.
CREATE INDEX tenancies_late_active_idx ON tenancies (property_id) WHERE late AND move_out_date IS NULL;
