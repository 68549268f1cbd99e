-- The summary counts overcrowded units: a few of all units, found without reading every unit.
-- (The text search's trigram indexes of PostgreSQL have no SQLite counterpart; a village's properties are few.)
CREATE INDEX units_overcrowded_idx ON units (property_id) WHERE active_tenants > max_occupants;
