-- A ledger import looks each line's property up by village, name and address. Without this index the planner,
-- given statistics in which one village holds every property, scanned the whole table once a line.
CREATE INDEX properties_village_name_idx ON properties (village_id, name, address);
