DROP TABLE rectifications;
DROP TABLE inspection_results;
DROP TABLE inspections;
