-- A town (100 villages, 100,000 properties; docs/performance.md, "A town").
-- The list's text search (`q`: a part of a name or an address, in any case) read every property in the caller's
-- scope: 75 ms for an admin over 100,000. Trigram indexes find the few that match. pg_trgm ships with
-- PostgreSQL and is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX properties_name_trgm_idx ON properties USING gin (lower(name) gin_trgm_ops);
CREATE INDEX properties_address_trgm_idx ON properties USING gin (lower(address) gin_trgm_ops);
-- The summary counts overcrowded units: a few of all units, found without reading every unit of the town.
CREATE INDEX units_overcrowded_idx ON units (property_id) WHERE active_tenants > max_occupants;
