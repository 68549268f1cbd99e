-- Landlord training (issue 16): sessions the association holds in a village, and who attended. Each attendance
-- keeps the date until which it counts (the session's date plus ANZU_TRAINING_VALID_MONTHS when recorded): a
-- landlord's training is valid until the latest of theirs.
CREATE TABLE training_sessions (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL REFERENCES villages(id),
    title TEXT NOT NULL,
    held_on DATE NOT NULL,
    trainer TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX training_sessions_village_idx ON training_sessions (village_id, id);

CREATE TABLE training_attendances (
    session_id TEXT NOT NULL REFERENCES training_sessions(id),
    landlord_id TEXT NOT NULL REFERENCES users(id),
    valid_until DATE NOT NULL,
    PRIMARY KEY (session_id, landlord_id)
);
-- A landlord's latest validity, and the landlords valid on a day.
CREATE INDEX training_attendances_landlord_idx ON training_attendances (landlord_id, valid_until);
