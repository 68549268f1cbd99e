-- Appeals against an inspection (within 14 days, decided by an auditor or admin who did not inspect). An appeal
-- with status 'upheld' and reinspected_by NULL means: the property needs a new inspection; the next inspection
-- of the property fills reinspected_by.
CREATE TABLE appeals (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections(id),
    property_id TEXT NOT NULL REFERENCES properties(id),
    appellant_id TEXT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT REFERENCES users(id),
    decision_reason TEXT,
    decided_at TIMESTAMP,
    reinspected_by TEXT REFERENCES inspections(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX appeals_one_open_idx ON appeals (inspection_id) WHERE status = 'open';
CREATE INDEX appeals_property_idx ON appeals (property_id);
CREATE INDEX appeals_reinspect_idx ON appeals (property_id) WHERE status = 'upheld' AND reinspected_by IS NULL;

-- A landlord's request for a re-rating after fixing what failed: one open per property (status 'open',
-- closed_by_inspection_id NULL), closed by the property's next inspection.
CREATE TABLE rerating_requests (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL REFERENCES properties(id),
    requested_by TEXT NOT NULL REFERENCES users(id),
    note TEXT,
    status TEXT NOT NULL,
    closed_by_inspection_id TEXT REFERENCES inspections(id),
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE UNIQUE INDEX rerating_requests_one_open_idx ON rerating_requests (property_id) WHERE status = 'open';

-- The owner's right of reply, shown beside the public rating.
CREATE TABLE property_replies (
    property_id TEXT PRIMARY KEY REFERENCES properties(id),
    text TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
