-- Grid patrols (一日一巡) with the properties visited, and one-time password links for accounts
-- created from imported ledgers.
CREATE TABLE patrols (
    id TEXT PRIMARY KEY,
    grid_id TEXT NOT NULL REFERENCES grids(id),
    inspector_id TEXT NOT NULL REFERENCES users(id),
    patrolled_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX patrols_grid_idx ON patrols (grid_id, id);

CREATE TABLE patrol_visits (
    patrol_id TEXT NOT NULL REFERENCES patrols(id),
    property_id TEXT NOT NULL REFERENCES properties(id),
    position INTEGER NOT NULL,
    finding TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (patrol_id, property_id)
);
CREATE INDEX patrol_visits_property_idx ON patrol_visits (property_id);

CREATE TABLE password_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
