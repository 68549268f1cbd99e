ALTER TABLE properties DROP COLUMN unit_count;
