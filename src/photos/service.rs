//! The rules of photo evidence: who attaches what to which item or order, how many, and who sees them. Each
//! function runs inside the caller's transaction; an upload is checked once before its body is read (so a caller
//! who may not attach is refused without sending 10 MB) and again, under the subject's row lock, when it is kept.

use serde_json::json;

use super::image::{PHOTO_FIELD, Processed, STORED_CONTENT_TYPE};
use super::model::{MAX_PHOTOS_PER_SUBJECT, PhotoKind, PhotoRow, Rendering};
use super::repo;
use super::store::PhotoStore;
use crate::audit::{self, Event};
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::error::{ApiError, FieldError};
use crate::ids::{new_id, now};
use crate::rating::Outcome;
use crate::registry::repo as registry_repo;
use crate::registry::service as registry_service;
use crate::safety::model::{RectificationRow, RectificationStatus};
use crate::safety::repo as safety_repo;

/// What a photo is attached to: a failed item of an inspection, or a rectification order.
#[derive(Debug, Clone)]
pub enum Subject {
    Item { inspection_id: String, item_code: String },
    Order { rectification_id: String },
}

/// Where a checked upload goes.
struct Target {
    property_id: String,
    village_id: String,
    inspection_id: String,
    item_code: String,
    rectification_id: Option<String>,
    kind: PhotoKind,
}

/// Refuses an upload the caller may not make, or one past the limit; nothing is read or written.
pub fn check_upload(conn: &mut Conn, caller: &Caller, subject: &Subject) -> Result<(), ApiError> {
    target(conn, caller, subject).map(|_| ())
}

/// Keeps a processed photo on its subject (checked again, under the subject's lock) and audits it.
pub fn attach(
    conn: &mut Conn,
    caller: &Caller,
    store: &dyn PhotoStore,
    subject: &Subject,
    photo: &Processed,
) -> Result<PhotoRow, ApiError> {
    match subject {
        Subject::Item {
            inspection_id,
            item_code,
        } => repo::lock_item(conn, inspection_id, item_code)?,
        Subject::Order { rectification_id } => repo::lock_order(conn, rectification_id)?,
    }
    let target = target(conn, caller, subject)?;
    let row = PhotoRow {
        id: new_id(),
        property_id: target.property_id,
        inspection_id: target.inspection_id,
        item_code: target.item_code,
        rectification_id: target.rectification_id,
        kind: target.kind,
        uploaded_by: caller.user_id.clone(),
        content_type: STORED_CONTENT_TYPE.to_owned(),
        width: size_i32(photo.width)?,
        height: size_i32(photo.height)?,
        byte_size: size_i32(photo.image.len())?,
        thumbnail_byte_size: size_i32(photo.thumbnail.len())?,
        created_at: now(),
    };
    repo::insert(conn, &row)?;
    store.put(conn, &row.id, &photo.image, &photo.thumbnail)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "photo.attached",
            entity_type: "photo",
            entity_id: &row.id,
            village_id: Some(&target.village_id),
            detail: json!({"kind": row.kind, "inspection_id": row.inspection_id, "item_code": row.item_code,
                "rectification_id": row.rectification_id, "byte_size": row.byte_size}),
        },
    )?;
    Ok(row)
}

fn size_i32(size: impl TryInto<i32>) -> Result<i32, ApiError> {
    size.try_into()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a photo's size does not fit its column")))
}

fn target(conn: &mut Conn, caller: &Caller, subject: &Subject) -> Result<Target, ApiError> {
    match subject {
        Subject::Item {
            inspection_id,
            item_code,
        } => item_target(conn, caller, inspection_id, item_code),
        Subject::Order { rectification_id } => order_target(conn, caller, rectification_id),
    }
}

/// A failed item of an inspection the caller (inspector, auditor, admin) may see, with room for a photo.
fn item_target(conn: &mut Conn, caller: &Caller, inspection_id: &str, item_code: &str) -> Result<Target, ApiError> {
    let inspection = safety_repo::find_inspection(conn, caller, inspection_id)?;
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    let result = safety_repo::results_of(conn, &[inspection.id.as_str()])?
        .into_iter()
        .find(|r| r.item_code == item_code)
        .ok_or(ApiError::NotFound)?;
    if result.outcome != Outcome::Fail {
        return Err(ApiError::Conflict(format!(
            "Item {item_code} did not fail: a photo is attached to a failed item only."
        )));
    }
    room_for_one_more(repo::count_on_item(conn, &inspection.id, item_code)?, "item")?;
    let property = registry_repo::find_property(conn, caller, &inspection.property_id)?;
    Ok(Target {
        property_id: property.id,
        village_id: property.village_id,
        inspection_id: inspection.id,
        item_code: result.item_code,
        rectification_id: None,
        kind: PhotoKind::Deficiency,
    })
}

/// An order of the caller's own property (its owner reports the fix) that is not settled, with room for a photo.
fn order_target(conn: &mut Conn, caller: &Caller, rectification_id: &str) -> Result<Target, ApiError> {
    let (order, owner_id, village_id): (RectificationRow, String, String) =
        safety_repo::find_rectification(conn, caller, rectification_id)?;
    if !(caller.role == Role::Landlord && caller.user_id == owner_id) {
        return Err(ApiError::Forbidden(
            "Only the property's owner attaches photos of a fix.".into(),
        ));
    }
    registry_service::require_membership(conn, caller, registry_service::KEEPS_RECORDS)?;
    let status: RectificationStatus = order.status;
    if !RectificationStatus::PENDING.contains(&status) {
        return Err(ApiError::Conflict(format!("A {status} order takes no more photos.")));
    }
    room_for_one_more(repo::count_on_order(conn, &order.id)?, "order")?;
    Ok(Target {
        property_id: order.property_id,
        village_id,
        inspection_id: order.inspection_id,
        item_code: order.item_code,
        rectification_id: Some(order.id),
        kind: PhotoKind::After,
    })
}

fn room_for_one_more(count: i64, on: &str) -> Result<(), ApiError> {
    if count >= MAX_PHOTOS_PER_SUBJECT {
        return Err(ApiError::Validation(vec![FieldError::new(
            PHOTO_FIELD,
            "too_many",
            format!("this {on} has {MAX_PHOTOS_PER_SUBJECT} photos already, the most it takes"),
        )]));
    }
    Ok(())
}

/// An inspection's deficiency photos, for whoever may see the inspection.
pub fn of_inspection(conn: &mut Conn, caller: &Caller, inspection_id: &str) -> Result<Vec<PhotoRow>, ApiError> {
    let inspection = safety_repo::find_inspection(conn, caller, inspection_id)?;
    repo::of_inspection(conn, &inspection.id)
}

/// An order's evidence: the failed item's photos and the fix's, for whoever may see the order.
pub fn of_order(conn: &mut Conn, caller: &Caller, rectification_id: &str) -> Result<Vec<PhotoRow>, ApiError> {
    let (order, _, _) = safety_repo::find_rectification(conn, caller, rectification_id)?;
    repo::of_order(conn, &order.inspection_id, &order.item_code, &order.id)
}

/// A photo's bytes, for whoever may see its inspection or order.
pub fn bytes(
    conn: &mut Conn,
    caller: &Caller,
    store: &dyn PhotoStore,
    id: &str,
    rendering: Rendering,
) -> Result<(PhotoRow, Vec<u8>), ApiError> {
    let row = repo::find(conn, caller, id)?;
    let bytes = store.get(conn, &row.id, rendering)?;
    Ok((row, bytes))
}
