//! Photo evidence: rows and answers. A photo is about one item of one inspection; an `after` photo also names the
//! rectification order it shows fixed.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::photos;
use crate::text_enum;

text_enum! {
    /// `deficiency`: an inspector's photo of a failed item; `after`: the owner's photo of the fix.
    pub enum PhotoKind {
        Deficiency => "deficiency",
        After => "after",
    }
}

/// Most photos of one kind on one item (deficiency) or one order (after).
pub const MAX_PHOTOS_PER_SUBJECT: i64 = 8;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos, treat_none_as_default_value = false)]
pub struct PhotoRow {
    pub id: String,
    pub property_id: String,
    pub inspection_id: String,
    pub item_code: String,
    pub rectification_id: Option<String>,
    pub kind: PhotoKind,
    pub uploaded_by: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub byte_size: i32,
    pub thumbnail_byte_size: i32,
    pub created_at: NaiveDateTime,
}

/// A photo's description; its bytes are at `GET /photos/{id}` and `GET /photos/{id}/thumbnail`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Photo {
    pub id: String,
    pub kind: PhotoKind,
    pub property_id: String,
    pub inspection_id: String,
    pub item_code: String,
    /// The order an `after` photo shows fixed; null for a deficiency photo.
    pub rectification_id: Option<String>,
    pub uploaded_by: String,
    /// Always `image/jpeg`: every photo is re-encoded, whatever it was sent as.
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub byte_size: i32,
    pub thumbnail_byte_size: i32,
    pub created_at: DateTime<Utc>,
}

impl From<PhotoRow> for Photo {
    fn from(row: PhotoRow) -> Photo {
        Photo {
            id: row.id,
            kind: row.kind,
            property_id: row.property_id,
            inspection_id: row.inspection_id,
            item_code: row.item_code,
            rectification_id: row.rectification_id,
            uploaded_by: row.uploaded_by,
            content_type: row.content_type,
            width: row.width,
            height: row.height,
            byte_size: row.byte_size,
            thumbnail_byte_size: row.thumbnail_byte_size,
            created_at: row.created_at.and_utc(),
        }
    }
}

/// The photos of an item or an order, oldest first (at most 8 of each kind: one page).
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoList {
    pub items: Vec<Photo>,
}

/// Which of a photo's two renderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    Full,
    Thumbnail,
}

/// The upload form, as the OpenAPI document describes it (the handler reads the multipart body itself).
#[derive(Debug, ToSchema)]
pub struct PhotoUpload {
    /// The photo: JPEG, PNG or WebP (recognised by its bytes), at most 10 MiB and 40 megapixels.
    #[schema(value_type = String, format = Binary)]
    pub photo: Vec<u8>,
}

/// A photo's bytes as served (`image/jpeg`), for the OpenAPI document.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct JpegBytes(pub Vec<u8>);
