-- Properties, their units, and tenant declarations (tenancies).
CREATE TABLE properties (
    id TEXT PRIMARY KEY,
    registration_code TEXT NOT NULL UNIQUE,
    owner_id TEXT NOT NULL REFERENCES users(id),
    village_id TEXT NOT NULL REFERENCES villages(id),
    grid_id TEXT REFERENCES grids(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    floors INTEGER NOT NULL,
    floor_area_m2 REAL NOT NULL,
    mixed_use_residence BOOLEAN NOT NULL,
    -- registered, rated, rectification, suspended or delisted; `expired` is derived when read.
    status TEXT NOT NULL,
    stars INTEGER,
    score INTEGER,
    rating_valid_until DATE,
    active_tenants INTEGER NOT NULL DEFAULT 0,
    capacity INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX properties_village_idx ON properties (village_id, id);
CREATE INDEX properties_owner_idx ON properties (owner_id, id);
CREATE INDEX properties_grid_idx ON properties (grid_id);
CREATE INDEX properties_updated_idx ON properties (updated_at);

CREATE TABLE units (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL REFERENCES properties(id),
    label TEXT NOT NULL,
    floor INTEGER NOT NULL,
    area_m2 REAL NOT NULL,
    kind TEXT NOT NULL,
    max_occupants INTEGER NOT NULL,
    -- false while max_occupants follows the area rule; true once given explicitly.
    max_occupants_fixed BOOLEAN NOT NULL,
    active_tenants INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (property_id, label)
);
CREATE INDEX units_updated_idx ON units (updated_at);

CREATE TABLE tenancies (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES units(id),
    property_id TEXT NOT NULL REFERENCES properties(id),
    full_name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    -- AES-256-GCM under ANZU_DATA_KEY; never stored in clear.
    id_number_encrypted TEXT NOT NULL,
    -- keyed hash (HMAC-SHA-256) of the normalised number, for finding the same person.
    id_lookup TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    phone_encrypted TEXT,
    phone_masked TEXT,
    gender TEXT,
    birth_date DATE,
    origin TEXT,
    employer TEXT,
    move_in_date DATE NOT NULL,
    move_out_date DATE,
    declared_at TIMESTAMP NOT NULL,
    late BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tenancies_unit_idx ON tenancies (unit_id, move_out_date);
CREATE INDEX tenancies_property_idx ON tenancies (property_id, id);
CREATE INDEX tenancies_lookup_idx ON tenancies (id_lookup, move_out_date);
CREATE INDEX tenancies_updated_idx ON tenancies (updated_at);

CREATE INDEX audit_events_village_idx ON audit_events (village_id, id);
