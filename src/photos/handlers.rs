//! HTTP handlers for photo evidence: uploads (`multipart/form-data`, one photo in the field `photo`), the lists
//! of an inspection's and an order's photos, and the photos' bytes.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web::{get, post};
use futures_util::StreamExt;

use super::image::{self as photo_image, MAX_PHOTO_BYTES, PHOTO_FIELD, Refusal};
use super::model::{JpegBytes, Photo, PhotoList, PhotoRow, PhotoUpload, Rendering};
use super::service::{self, Subject};
use super::store;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Problem};
use crate::state::AppState;

/// Largest upload body: one photo and the form's framing.
pub const MAX_UPLOAD_BODY_BYTES: usize = MAX_PHOTO_BYTES + (64 << 10);
/// How long a browser may keep a photo for the signed-in user; a photo never changes.
const PHOTO_CACHE_CONTROL: &str = "private, max-age=3600";

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(attach_to_item)
        .service(inspection_photos)
        .service(attach_to_order)
        .service(order_photos)
        .service(get_photo)
        .service(get_thumbnail);
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        let (code, message) = match refusal {
            Refusal::Missing => ("required", "send the photo as the form field `photo`"),
            Refusal::NotAnImage => ("format", "a JPEG, PNG or WebP image is expected"),
            Refusal::Corrupt => ("corrupt", "the image could not be decoded; it is damaged or incomplete"),
            Refusal::TooManyPixels => ("dimensions", "the image may have at most 40 megapixels"),
        };
        ApiError::Validation(vec![FieldError::new(PHOTO_FIELD, code, message)])
    }
}

/// Whether a path (under `/api/v1`) takes a photo upload, whose body may be larger than a JSON body.
pub fn is_upload_path(path: &str) -> bool {
    path.starts_with("/api/v1/") && path.ends_with("/photos")
}

/// Attach a photo to a failed item of an inspection (inspectors and auditors of the village, admins); at most 8
/// per item.
#[utoipa::path(operation_id = "attach_item_photo", tag = "photos",
    params(("id" = String, Path), ("code" = String, Path)),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Photo), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/inspections/{id}/items/{code}/photos")]
pub async fn attach_to_item(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (inspection_id, item_code) = path.into_inner();
    upload(
        &req,
        caller,
        &state,
        Subject::Item {
            inspection_id,
            item_code,
        },
        multipart,
    )
    .await
}

/// Attach a photo of the fix to a rectification order (its property's owner, while the order is open, reported
/// or overdue); at most 8 per order.
#[utoipa::path(operation_id = "attach_rectification_photo", tag = "photos", params(("id" = String, Path)),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Photo), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/rectifications/{id}/photos")]
pub async fn attach_to_order(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    let subject = Subject::Order {
        rectification_id: id.into_inner(),
    };
    upload(&req, caller, &state, subject, multipart).await
}

/// Checks the caller may attach, reads the photo, processes it off the async workers, and keeps it.
async fn upload(
    req: &HttpRequest,
    caller: Caller,
    state: &AppState,
    subject: Subject,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_UPLOAD_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let (checker, checked) = (caller.clone(), subject.clone());
    state
        .db
        .read(move |conn| service::check_upload(conn, &checker, &checked))
        .await?;
    let sent = read_photo(multipart).await?;
    let processed = web::block(move || photo_image::process(&sent))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)?;
    let row = state
        .db
        .write(move |conn| service::attach(conn, &caller, store::current(), &subject, &processed))
        .await?;
    Ok(HttpResponse::Created().json(Photo::from(row)))
}

/// The one photo of the form; other fields are read (within the body's limit) and dropped, so that a photo sent
/// under another name is told apart from a body too large.
async fn read_photo(mut multipart: Multipart) -> Result<web::Bytes, ApiError> {
    let mut photo = None;
    let mut total = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(unreadable)?;
        let is_photo = field.name() == Some(PHOTO_FIELD);
        let bytes = match field.bytes(MAX_PHOTO_BYTES).await {
            Ok(read) => read.map_err(unreadable)?,
            Err(_limit_exceeded) => return Err(ApiError::PayloadTooLarge),
        };
        total += bytes.len();
        if total > MAX_UPLOAD_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        if is_photo && photo.replace(bytes).is_some() {
            return Err(ApiError::Validation(vec![FieldError::new(
                PHOTO_FIELD,
                "one",
                "send one photo per request",
            )]));
        }
    }
    photo.ok_or_else(|| Refusal::Missing.into())
}

/// A multipart body that could not be read: not a form (415), too slow (408), or broken.
fn unreadable(err: MultipartError) -> ApiError {
    match err {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => {
            ApiError::UnsupportedMediaType("Send the photo as multipart/form-data, in the field `photo`.".into())
        }
        MultipartError::Payload(actix_web::error::PayloadError::Io(io))
            if io.kind() == std::io::ErrorKind::TimedOut =>
        {
            ApiError::RequestTimeout
        }
        _ => ApiError::BadRequest("The multipart body could not be read.".into()),
    }
}

/// An inspection's photos of its failed items, for whoever may see the inspection.
#[utoipa::path(operation_id = "list_inspection_photos", tag = "photos", params(("id" = String, Path)),
    responses((status = 200, body = PhotoList), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/photos")]
pub async fn inspection_photos(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db
        .read(move |conn| service::of_inspection(conn, &caller, &id))
        .await?;
    Ok(list(rows))
}

/// An order's evidence for its verifier: the failed item's photos (`deficiency`) first, then the fix's (`after`).
#[utoipa::path(operation_id = "list_rectification_photos", tag = "photos", params(("id" = String, Path)),
    responses((status = 200, body = PhotoList), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/rectifications/{id}/photos")]
pub async fn order_photos(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = state.db.read(move |conn| service::of_order(conn, &caller, &id)).await?;
    Ok(list(rows))
}

fn list(rows: Vec<PhotoRow>) -> HttpResponse {
    HttpResponse::Ok().json(PhotoList {
        items: rows.into_iter().map(Photo::from).collect(),
    })
}

/// A photo (a JPEG without metadata), for whoever may see its inspection or order.
#[utoipa::path(tag = "photos", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg", body = JpegBytes), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/photos/{id}")]
pub async fn get_photo(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(caller, &state, id.into_inner(), Rendering::Full).await
}

/// A photo's thumbnail (at most 320 px on its longer side).
#[utoipa::path(operation_id = "get_photo_thumbnail", tag = "photos", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg", body = JpegBytes), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/photos/{id}/thumbnail")]
pub async fn get_thumbnail(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(caller, &state, id.into_inner(), Rendering::Thumbnail).await
}

async fn serve(caller: Caller, state: &AppState, id: String, rendering: Rendering) -> Result<HttpResponse, ApiError> {
    let (row, bytes) = state
        .db
        .read(move |conn| service::bytes(conn, &caller, store::current(), &id, rendering))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type)
        .insert_header((header::CACHE_CONTROL, PHOTO_CACHE_CONTROL))
        .body(bytes))
}
