DROP TABLE photo_blobs;
DROP TABLE photos;
