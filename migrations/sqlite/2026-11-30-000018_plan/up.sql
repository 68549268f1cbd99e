-- The inspection plan reads each property's latest inspection date: an index that answers it without reading
-- the inspections themselves.
CREATE INDEX inspections_property_date_idx ON inspections (property_id, inspected_on);
