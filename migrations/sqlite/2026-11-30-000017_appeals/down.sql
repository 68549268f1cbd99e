DROP TABLE property_replies;
DROP TABLE rerating_requests;
DROP TABLE appeals;
