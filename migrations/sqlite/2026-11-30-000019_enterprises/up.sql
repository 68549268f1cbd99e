-- Enterprises (issue 16): companies that rent units or whole properties, often as worker dormitories (房企对接).
-- The unified social credit code is unique within a village; the contact phone is stored encrypted (bound to
-- table, column and row like a tenant's) and masked.
CREATE TABLE enterprises (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL REFERENCES villages(id),
    name TEXT NOT NULL,
    unified_social_credit_code TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_phone_encrypted TEXT NOT NULL,
    contact_phone_masked TEXT NOT NULL,
    registered_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX enterprises_village_code_idx ON enterprises (village_id, unified_social_credit_code);
CREATE INDEX enterprises_registered_by_idx ON enterprises (registered_by);

-- The current lease of a unit or of a whole property: the enterprise and the day it began. A unit's own lease
-- wins over its property's.
ALTER TABLE units ADD COLUMN enterprise_id TEXT REFERENCES enterprises(id);
ALTER TABLE units ADD COLUMN enterprise_since DATE;
ALTER TABLE properties ADD COLUMN enterprise_id TEXT REFERENCES enterprises(id);
ALTER TABLE properties ADD COLUMN enterprise_since DATE;
CREATE INDEX units_enterprise_idx ON units (enterprise_id);
CREATE INDEX properties_enterprise_idx ON properties (enterprise_id);

-- The enterprise whose lease the tenancy was declared under, fixed at declaration.
ALTER TABLE tenancies ADD COLUMN enterprise_id TEXT REFERENCES enterprises(id);
CREATE INDEX tenancies_enterprise_idx ON tenancies (enterprise_id);
