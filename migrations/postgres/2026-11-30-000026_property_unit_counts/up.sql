-- Each property keeps its units counted, as it keeps its active tenants and its capacity: the summary of a
-- village summed them by reading every unit of the village (48 ms of the 97 for the 10,000 properties of a
-- town's largest village; docs/performance.md, "A town").
ALTER TABLE properties ADD COLUMN unit_count INTEGER NOT NULL DEFAULT 0;
UPDATE properties p SET unit_count = u.n
FROM (SELECT property_id, count(*) AS n FROM units GROUP BY property_id) u
WHERE u.property_id = p.id;
