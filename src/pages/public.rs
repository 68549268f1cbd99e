//! `GET /r/{registration_code}`: the page a tenant reaches by scanning a door plaque. The same look-up, rate
//! limit and cache as `GET /public/v1/ratings/{code}`; nothing about the owner or the tenants.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::rating::RatingRules;
use crate::registry::model::{PropertyKind, PropertyStatus};
use crate::safety::public::{self, PublicRatings};
use crate::state::AppState;

/// A text in both languages.
#[derive(Serialize)]
struct Words {
    zh: &'static str,
    en: &'static str,
}

/// The words for a status, and what it means for a tenant.
#[derive(Serialize)]
pub struct StatusWords {
    pub zh: &'static str,
    pub en: &'static str,
    explain_zh: &'static str,
    explain_en: &'static str,
}

fn kind_words(kind: PropertyKind) -> Words {
    let (zh, en) = match kind {
        PropertyKind::Apartment => ("公寓楼", "apartment building"),
        PropertyKind::SharedHouse => ("合租房", "shared house"),
        PropertyKind::Factory => ("厂房宿舍", "factory dormitory"),
        PropertyKind::Shop => ("店面", "shop"),
        PropertyKind::MixedUse => ("三合一场所", "mixed-use (living, work and storage)"),
    };
    Words { zh, en }
}

/// A status in plain words, with what it means for a tenant.
pub fn status_words(status: PropertyStatus) -> StatusWords {
    let (zh, en, explain_zh, explain_en) = match status {
        PropertyStatus::Rated => (
            "已评级",
            "Rated",
            "已通过安全检查，评级在有效期内。",
            "It passed its safety inspection and the rating is current.",
        ),
        PropertyStatus::Rectification => (
            "整改中",
            "Under rectification",
            "检查发现问题，房东正在按期整改。",
            "The inspection found problems the landlord is fixing by their deadlines.",
        ),
        PropertyStatus::Suspended => (
            "暂停出租",
            "Suspended",
            "严重隐患逾期未整改，暂停出租。",
            "A serious hazard was not fixed in time: it may not be let for now.",
        ),
        PropertyStatus::Delisted => (
            "已清退",
            "Delisted",
            "已从协会登记中清退，不得出租。",
            "Removed from the association's register: it may not be let.",
        ),
        PropertyStatus::Expired => (
            "评级已过期",
            "Re-inspection due",
            "评级已过有效期，等待重新检查。",
            "The rating has run out; it is waiting for a new inspection.",
        ),
        PropertyStatus::Registered => (
            "未评级",
            "Not yet rated",
            "已登记，尚未安全检查。",
            "Registered, not yet inspected.",
        ),
    };
    StatusWords {
        zh,
        en,
        explain_zh,
        explain_en,
    }
}

/// A line of "what the stars mean", in both languages.
#[derive(Serialize)]
struct Line {
    zh: String,
    en: String,
}

/// What the stars mean under the rules in force (the thresholds and caps are settings).
fn meaning(rules: &RatingRules) -> Vec<Line> {
    let [five, four, three, two] = rules.star_thresholds;
    let mut lines: Vec<Line> = [(5, five), (4, four), (3, three), (2, two)]
        .into_iter()
        .map(|(stars, score)| Line {
            zh: format!("{stars} 星：检查得分 {score} 分以上。"),
            en: format!("{stars} stars: an inspection score of {score} or more."),
        })
        .collect();
    lines.push(Line {
        zh: format!("1 星：得分低于 {two} 分。"),
        en: format!("1 star: a score below {two}."),
    });
    lines.push(Line {
        zh: format!("有重大隐患时最多 {} 星。", rules.major_failure_cap_stars),
        en: format!("With a major hazard, {} stars at most.", rules.major_failure_cap_stars),
    });
    lines.push(Line {
        zh: format!(
            "有严重隐患（如堵塞的逃生通道）时为 {} 星。",
            rules.critical_failure_stars
        ),
        en: format!(
            "With a critical hazard (a blocked escape route, say), {} stars.",
            rules.critical_failure_stars
        ),
    });
    lines.push(Line {
        zh: "评级有有效期：星越多，有效期越长；过期后需重新检查。".into(),
        en: "A rating is valid for a time, longer for more stars; then the rental is inspected again.".into(),
    });
    lines
}

/// The public rating page. Errors are pages too: an unknown code is a friendly 404, a walk of the register a 429.
pub async fn rating_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    code: web::Path<String>,
) -> HttpResponse {
    let view = match public::load(&req, &state, &public, code.into_inner()).await {
        Ok(view) => view,
        Err(err) => return super::error_page(err),
    };
    let rating = &view.rating;
    let (lit, unlit) = public::star_glyphs(rating.stars);
    let context = serde_json::json!({
        "rating": rating,
        "stars": rating.stars.map(|s| s.clamp(0, 5)),
        "lit": lit,
        "unlit": unlit,
        "kind": kind_words(rating.kind),
        "status": status_words(rating.status),
        "last_inspected_on": view.last_inspected_on,
        "meaning": meaning(&state.settings.rating_rules),
        "contact": state.settings.association_contact,
    });
    match super::render("rating.html", context) {
        // Revalidated on every visit: the server's cache is forgotten when the rating changes, a browser's not.
        Ok(body) => {
            let mut response = super::page(StatusCode::OK, body);
            response.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-cache"),
            );
            response
        }
        Err(err) => super::error_page(err),
    }
}
