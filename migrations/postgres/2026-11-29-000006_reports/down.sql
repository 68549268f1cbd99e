DROP TABLE password_tokens;
DROP TABLE patrol_visits;
DROP TABLE patrols;
