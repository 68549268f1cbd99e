DROP INDEX audit_events_village_idx;
DROP TABLE tenancies;
DROP TABLE units;
DROP TABLE properties;
