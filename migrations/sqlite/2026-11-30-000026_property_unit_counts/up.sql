-- Each property keeps its units counted, as it keeps its active tenants and its capacity: the summary of a
-- village summed them by reading every unit of the village (docs/performance.md, "A town").
ALTER TABLE properties ADD COLUMN unit_count INTEGER NOT NULL DEFAULT 0;
UPDATE properties SET unit_count = (SELECT count(*) FROM units WHERE units.property_id = properties.id);
