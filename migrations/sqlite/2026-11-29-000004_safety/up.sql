-- Inspections against the checklist, their item results, and the rectification orders they open.
CREATE TABLE inspections (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL REFERENCES properties(id),
    inspector_id TEXT NOT NULL REFERENCES users(id),
    checklist_version INTEGER NOT NULL REFERENCES checklist_versions(version),
    inspected_on DATE NOT NULL,
    score INTEGER NOT NULL,
    stars INTEGER NOT NULL,
    valid_until DATE,
    summary TEXT,
    -- {"stars", "fix_items"} as answered, or null at five stars.
    next_star TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX inspections_property_idx ON inspections (property_id, id);

CREATE TABLE inspection_results (
    inspection_id TEXT NOT NULL REFERENCES inspections(id),
    item_code TEXT NOT NULL,
    position INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (inspection_id, item_code)
);

CREATE TABLE rectifications (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL REFERENCES properties(id),
    inspection_id TEXT NOT NULL REFERENCES inspections(id),
    item_code TEXT NOT NULL,
    severity TEXT NOT NULL,
    due_on DATE NOT NULL,
    -- open, reported, resolved, overdue, or superseded by a later inspection's order for the same item.
    status TEXT NOT NULL,
    report_note TEXT,
    verify_note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX rectifications_property_idx ON rectifications (property_id, status);
CREATE INDEX rectifications_due_idx ON rectifications (status, due_on);
CREATE INDEX rectifications_updated_idx ON rectifications (updated_at);
