-- One person (identity look-up hash) has at most one active tenancy per unit, whatever the timing: the check
-- before the insert could not hold this for two declarations arriving together. Pairs declared so before this
-- migration keep their earliest declaration active; each later copy is closed on its own move-in date, and the
-- counters are counted again from the rows.
UPDATE tenancies
SET move_out_date = move_in_date, updated_at = CURRENT_TIMESTAMP, version = version + 1
WHERE move_out_date IS NULL
  AND EXISTS (
    SELECT 1 FROM tenancies AS earlier
    WHERE earlier.unit_id = tenancies.unit_id
      AND earlier.id_lookup = tenancies.id_lookup
      AND earlier.move_out_date IS NULL
      AND (earlier.created_at < tenancies.created_at
           OR (earlier.created_at = tenancies.created_at AND earlier.id < tenancies.id)));

UPDATE units SET active_tenants = (
  SELECT COUNT(*) FROM tenancies WHERE tenancies.unit_id = units.id AND tenancies.move_out_date IS NULL);
UPDATE properties SET active_tenants = (
  SELECT COUNT(*) FROM tenancies WHERE tenancies.property_id = properties.id AND tenancies.move_out_date IS NULL);

CREATE UNIQUE INDEX tenancies_one_active_per_person_idx ON tenancies (unit_id, id_lookup)
  WHERE move_out_date IS NULL;
