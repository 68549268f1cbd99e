//! Where a photo's bytes are kept, behind one small interface so that an object store can take the database's
//! place: the database keeps them now (one backup holds everything; several processes share one PostgreSQL).
//! Each call runs on the caller's connection, inside its transaction, so a photo's row and bytes exist together.

use diesel::prelude::*;

use super::model::Rendering;
use crate::db::Conn;
use crate::db::schema::photo_blobs;
use crate::error::ApiError;

pub trait PhotoStore: Sync {
    /// Keeps a photo's two renderings under its id.
    fn put(&self, conn: &mut Conn, photo_id: &str, image: &[u8], thumbnail: &[u8]) -> Result<(), ApiError>;
    /// One rendering of a photo; 404 when there is none.
    fn get(&self, conn: &mut Conn, photo_id: &str, rendering: Rendering) -> Result<Vec<u8>, ApiError>;
}

/// The bytes in the database's `photo_blobs` table.
pub struct DatabaseStore;

impl PhotoStore for DatabaseStore {
    fn put(&self, conn: &mut Conn, photo_id: &str, image: &[u8], thumbnail: &[u8]) -> Result<(), ApiError> {
        diesel::insert_into(photo_blobs::table)
            .values((
                photo_blobs::photo_id.eq(photo_id),
                photo_blobs::image.eq(image),
                photo_blobs::thumbnail.eq(thumbnail),
            ))
            .execute(conn)?;
        Ok(())
    }

    fn get(&self, conn: &mut Conn, photo_id: &str, rendering: Rendering) -> Result<Vec<u8>, ApiError> {
        let blob = photo_blobs::table.find(photo_id);
        Ok(match rendering {
            Rendering::Full => blob.select(photo_blobs::image).first(conn)?,
            Rendering::Thumbnail => blob.select(photo_blobs::thumbnail).first(conn)?,
        })
    }
}

/// The store in use.
pub fn current() -> &'static dyn PhotoStore {
    &DatabaseStore
}
