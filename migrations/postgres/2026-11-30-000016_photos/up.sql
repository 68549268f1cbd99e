-- Photo evidence: an inspector's photos of a failed item (kind 'deficiency'), and the owner's photos of the fix
-- on its rectification order (kind 'after'). Every photo names the inspection and item it is about; the order
-- only for 'after' photos. The bytes live apart (photo_blobs), behind the storage interface of src/photos.
CREATE TABLE photos (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL REFERENCES properties(id),
    inspection_id TEXT NOT NULL REFERENCES inspections(id),
    item_code TEXT NOT NULL,
    rectification_id TEXT REFERENCES rectifications(id),
    kind TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    byte_size INTEGER NOT NULL,
    thumbnail_byte_size INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX photos_item_idx ON photos (inspection_id, item_code, kind);
CREATE INDEX photos_rectification_idx ON photos (rectification_id);

-- The re-encoded image and its thumbnail (metadata-free JPEG), one row per photo.
CREATE TABLE photo_blobs (
    photo_id TEXT PRIMARY KEY REFERENCES photos(id),
    image BYTEA NOT NULL,
    thumbnail BYTEA NOT NULL
);
