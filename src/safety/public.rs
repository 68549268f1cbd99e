//! The public rating: anyone with the code on a door plaque may look up a rental's current stars, with
//! no login and nothing personal in the answer. Also the printable plaque itself, with a QR code.

use actix_web::get;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::ids::today;
use crate::rate_limit::{RequestLimiter, SharedCounts};
use crate::registry::model::{PropertyKind, PropertyStatus};
use crate::safety::appeals::model::OwnerReply;
use crate::safety::appeals::repo as appeals_repo;
use crate::safety::repo;
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(public_rating).service(plaque);
}

/// The public rating's shared state: a limit per address and the recent answers.
pub struct PublicRatings {
    /// Look-ups per address, so that the public endpoint cannot be used to walk the register.
    limiter: RequestLimiter,
    cache: Arc<PublicCache>,
    /// Where this process's changes go to the other processes on the database (PostgreSQL only).
    others: Option<SyncSender<String>>,
}

/// Changes waiting for the listener's connection; beyond this they are dropped (with a warning), and the
/// other processes' entries run out by their TTL instead.
const CHANGES_QUEUED: usize = 10_000;

impl PublicRatings {
    pub fn per_minute(requests: u32) -> Self {
        PublicRatings {
            limiter: RequestLimiter::per_minute(requests, None),
            cache: Arc::new(PublicCache::default()),
            others: None,
        }
    }

    /// Like [`PublicRatings::per_minute`], and on PostgreSQL (`database_url`) counts the look-ups in the database
    /// (one limit across the processes), tells the other processes on the database what this one forgets, and
    /// forgets what they tell (`crate::safety::public_changes`).
    pub fn shared_with_others(requests: u32, db: &crate::db::Db, database_url: &str) -> Self {
        let mut ratings = Self::per_minute(requests);
        ratings.limiter = RequestLimiter::per_minute(requests, SharedCounts::for_database(db, database_url));
        if crate::config::Backend::of_url(database_url) == crate::config::Backend::Postgres {
            let (sender, receiver) = std::sync::mpsc::sync_channel(CHANGES_QUEUED);
            let (url, cache) = (database_url.to_owned(), Arc::downgrade(&ratings.cache));
            std::thread::Builder::new()
                .name("public-changes".into())
                .spawn(move || super::public_changes::listen(url, cache, receiver))
                .map_err(|e| tracing::error!(error = %e, "cannot start the public rating changes listener"))
                .ok();
            ratings.others = Some(sender);
        }
        ratings
    }
}

/// Public answers kept for as long as clients may cache them anyway (`Cache-Control: max-age=60`): door
/// plaques are scanned far more often than ratings change. At most [`PublicCache::MAX_ENTRIES`]; beyond
/// that the cache evicts the least likely to be asked for again, not everything at once. A change of a
/// property's rating, status or owner's reply in this process forgets its entry at once ([`PublicRatings::forget`]),
/// and on PostgreSQL in every other process on the database too (`crate::safety::public_changes`).
pub struct PublicCache {
    entries: moka::sync::Cache<String, Arc<PublicView>>,
    /// The registration code of each cached property, by property id, to forget it by id.
    codes: moka::sync::Cache<String, String>,
}

impl Default for PublicCache {
    fn default() -> Self {
        PublicCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(Self::MAX_ENTRIES)
                .time_to_live(Self::TTL)
                .build(),
            codes: moka::sync::Cache::builder()
                .max_capacity(Self::MAX_ENTRIES)
                .time_to_live(Self::TTL)
                .build(),
        }
    }
}

impl PublicCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    const MAX_ENTRIES: u64 = 100_000;

    fn get(&self, code: &str) -> Option<Arc<PublicView>> {
        self.entries.get(code)
    }

    fn put(&self, view: &Arc<PublicView>) {
        let code = view.rating.registration_code.clone();
        self.codes.insert(view.property_id.clone(), code.clone());
        self.entries.insert(code, view.clone());
    }

    pub(super) fn forget(&self, property_id: &str) {
        if let Some(code) = self.codes.remove(property_id) {
            self.entries.invalidate(&code);
        }
    }

    pub(super) fn forget_all(&self) {
        self.entries.invalidate_all();
        self.codes.invalidate_all();
    }
}

impl PublicRatings {
    /// Forgets what is cached of a property whose rating or status just changed, so that this process's next
    /// answer (the page, the plaque the landlord prints right after an inspection) shows the change.
    pub fn forget(&self, property_id: &str) {
        self.cache.forget(property_id);
        if let Some(others) = &self.others
            && others.try_send(property_id.to_owned()).is_err()
        {
            tracing::warn!("public rating changes: the queue to the other processes is full or closed");
        }
    }
}

/// What the public may know about a rental.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicRating {
    pub registration_code: String,
    /// The village's name.
    pub village: String,
    pub kind: PropertyKind,
    pub status: PropertyStatus,
    pub stars: Option<i32>,
    pub valid_until: Option<NaiveDate>,
    /// The owner's reply to the rating, in the owner's own words (not the association's), if they published one.
    pub owner_reply: Option<OwnerReply>,
}

/// A public rating and what the page behind the plaque adds to it.
#[derive(Debug)]
pub struct PublicView {
    pub rating: PublicRating,
    /// The date of the property's last inspection, if any.
    pub last_inspected_on: Option<NaiveDate>,
    property_id: String,
}

/// A rental's public rating by its registration code: rate limited per client address (the JSON, the plaque
/// and the page share one limit), answered from the cache when it can be.
pub async fn load(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    public: &PublicRatings,
    code: String,
) -> Result<Arc<PublicView>, ApiError> {
    let address = crate::http::client_ip(req, &state.settings.trust_proxy);
    public.limiter.check("public_rating", address).await?;
    if let Some(view) = public.cache.get(&code) {
        return Ok(view);
    }
    let today = today();
    let view = state
        .db
        .lookup(move |conn| {
            let (property, village) = repo::find_by_code(conn, &code)?;
            let last_inspected_on = repo::last_inspected_on(conn, &property.id)?;
            let owner_reply = appeals_repo::find_reply(conn, &property.id)?.map(OwnerReply::from);
            Ok(PublicView {
                rating: PublicRating {
                    status: property.status_on(today),
                    kind: property.kind,
                    registration_code: property.registration_code,
                    village,
                    stars: property.stars,
                    valid_until: property.rating_valid_until,
                    owner_reply,
                },
                last_inspected_on,
                property_id: property.id,
            })
        })
        .await?;
    let view = Arc::new(view);
    public.cache.put(&view);
    Ok(view)
}

/// A rental's current rating by its registration code. Public, rate limited per address.
#[utoipa::path(operation_id = "get_public_rating", tag = "public",
    params(("registration_code" = String, Path)),
    responses((status = 200, body = PublicRating), (status = 404, body = Problem), (status = 429, body = Problem)))]
#[get("/ratings/{registration_code}")]
pub async fn public_rating(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = load(&req, &state, &public, code.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .json(&view.rating))
}

/// The short address a plaque's QR code holds: the public rating page. Short, so that the code has few, large
/// modules and scans from across a corridor.
pub fn page_url(public_base_url: &str, registration_code: &str) -> String {
    format!("{public_base_url}/r/{registration_code}")
}

/// A printable door plaque: the code, the stars, the validity and a QR code of the public rating page.
#[utoipa::path(operation_id = "get_public_plaque", tag = "public",
    params(("registration_code" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = Problem),
        (status = 429, body = Problem)))]
#[get("/ratings/{registration_code}/plaque.svg")]
pub async fn plaque(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = load(&req, &state, &public, code.into_inner()).await?;
    let url = page_url(&state.settings.public_base_url, &view.rating.registration_code);
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .body(plaque_svg(&view.rating, &url)?))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Stars as drawn on the plaque and the pages: the lit ones (★), then the rest of five (☆); none lit when unrated.
pub fn star_glyphs(stars: Option<i32>) -> (String, String) {
    let lit = stars.unwrap_or(0).clamp(0, 5) as usize;
    ("★".repeat(lit), "☆".repeat(5 - lit))
}

/// Draws the plaque: 400 × 560 units, printable at A6.
pub fn plaque_svg(rating: &PublicRating, url: &str) -> Result<String, ApiError> {
    let qr = QrCode::new(url.as_bytes()).map_err(|e| ApiError::internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
    let qr_svg = qr
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let qr_body = qr_svg.find("<svg").map(|at| &qr_svg[at..]).unwrap_or(&qr_svg);
    let (lit, unlit) = star_glyphs(rating.stars);
    let star_line = format!("{lit}{unlit}");
    let validity = match (rating.status, rating.valid_until) {
        (PropertyStatus::Expired, Some(until)) => format!("已过期 Expired {until}"),
        (_, Some(until)) => format!("有效期至 Valid until {until}"),
        (_, None) => "未评级 Not rated".to_owned(),
    };
    Ok(format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="400" height="560" viewBox="0 0 400 560" font-family="sans-serif">
  <rect x="4" y="4" width="392" height="552" rx="16" fill="#fff" stroke="#b22222" stroke-width="6"/>
  <text x="200" y="52" font-size="26" text-anchor="middle" fill="#b22222">平安租赁 Safe Rental</text>
  <text x="200" y="96" font-size="30" text-anchor="middle" font-weight="bold">{code}</text>
  <text x="200" y="124" font-size="16" text-anchor="middle">{village}</text>
  <text x="200" y="172" font-size="40" text-anchor="middle" fill="#d4a017">{star_line}</text>
  <text x="200" y="204" font-size="16" text-anchor="middle">{validity}</text>
  <g transform="translate(80,220)">{qr_body}</g>
  <text x="200" y="540" font-size="12" text-anchor="middle">扫码查看当前评级 Scan for the current rating</text>
</svg>
"##,
        code = escape(&rating.registration_code),
        village = escape(&rating.village),
    ))
}
