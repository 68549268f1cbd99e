DROP INDEX units_overcrowded_idx;
DROP INDEX properties_address_trgm_idx;
DROP INDEX properties_name_trgm_idx;
-- pg_trgm stays: other objects of the database may use it.
