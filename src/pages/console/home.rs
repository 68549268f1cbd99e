//! Each role's start page: the village at a glance for auditors and admins, today's work for inspectors, my
//! rentals for landlords. The numbers and lists come from the same repository functions as the API, scoped to the
//! signed-in user as the API scopes them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::session::Current;
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::Page;
use crate::error::ApiError;
use crate::ids::today;
use crate::pages::public::status_words;
use crate::registry::model::{PropertyFilter, PropertyRow, PropertyStatus};
use crate::reports::model::{GridRectifications, WeekOfDeclarations};
use crate::risk::PlanRules;
use crate::safety::model::{RectificationFilter, RectificationStatus};
use crate::safety::public::star_glyphs;
use crate::state::AppState;

/// An inspector's start page lists ratings that run out within this many days.
const EXPIRING_DAYS: i64 = 30;
/// How many rows a start page lists.
const LISTED: i64 = 50;

pub async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match super::signed_in(&req, &state).await {
        Ok(current) => super::respond(start_page(&state, current).await, StatusCode::OK),
        Err(answer) => answer,
    }
}

async fn start_page(state: &AppState, current: Current) -> Result<String, ApiError> {
    let caller = current.caller.clone();
    let role = caller.role;
    let rules = state.settings.inspection_plan.clone();
    let data = state
        .db
        .read(move |conn| gather(conn, &caller, &rules, today()))
        .await?;
    let (heading, list_heading) = headings(role);
    let mut context = json!({
        "heading": {"zh": heading.0, "en": heading.1},
        "list_heading": {"zh": list_heading.0, "en": list_heading.1},
        "summary": Value::Null,
        "properties": Value::Null,
        "to_verify": Value::Null,
        "by_stars": Value::Null,
        "by_status": Value::Null,
        "weeks": Value::Null,
        "by_grid": Value::Null,
    });
    if let (Some(into), Some(from)) = (context.as_object_mut(), data.as_object()) {
        for (key, value) in from {
            into.insert(key.clone(), value.clone());
        }
    }
    if let Some(summary) = data.get("summary") {
        context["by_stars"] = with_bars(by_stars(summary));
        context["by_status"] = with_bars(by_status(summary));
    }
    crate::pages::render("console_home.html", super::page_context(&current, "/console/", context))
}

/// What a role's start page shows, read in the caller's scope.
fn gather(conn: &mut Conn, caller: &Caller, rules: &PlanRules, today: NaiveDate) -> Result<Value, ApiError> {
    let page = Page {
        limit: LISTED,
        after: None,
        updated_since: None,
    };
    let mut list = |status: Option<PropertyStatus>| {
        let filter = PropertyFilter {
            village_id: None,
            grid_id: None,
            status,
            stars: None,
            owner_id: None,
            q: None,
            enterprise_id: None,
        };
        crate::registry::repo::list_properties(conn, caller, &filter, &page, today)
    };
    Ok(match caller.role {
        Role::Admin | Role::Auditor => {
            // An auditor's village; the whole town for an admin.
            let village = (caller.role == Role::Auditor)
                .then(|| caller.village_id.clone())
                .flatten();
            let summary = crate::reports::repo::summary(conn, village.as_deref(), None, rules, today)?;
            let weeks = crate::reports::repo::declarations_by_week(conn, village.as_deref(), today, WEEKS)?;
            let grids = crate::reports::repo::rectifications_by_grid(conn, village.as_deref())?;
            json!({"summary": summary, "weeks": columns(&weeks), "by_grid": grid_bars(&grids)})
        }
        Role::Inspector => {
            let mut due = list(Some(PropertyStatus::Registered))?;
            due.extend(list(Some(PropertyStatus::Expired))?);
            let soon = today + chrono::Duration::days(EXPIRING_DAYS);
            due.extend(crate::registry::repo::ratings_expiring_seen_by(
                conn, caller, today, soon, LISTED,
            )?);
            let filter = RectificationFilter {
                property_id: None,
                status: Some(RectificationStatus::Reported),
            };
            let to_verify: Vec<Value> = crate::safety::repo::list_rectifications(conn, caller, &filter, &page)?
                .iter()
                .map(|r| json!({"item_code": r.item_code, "due_on": r.due_on, "property_id": r.property_id}))
                .collect();
            json!({"properties": rows(&due, today), "to_verify": to_verify})
        }
        Role::Landlord => {
            let properties = list(None)?;
            let ids: Vec<&str> = properties.iter().map(|p| p.id.as_str()).collect();
            let due = crate::safety::repo::next_due_by_property(conn, &ids)?;
            let mut rows = rows(&properties, today);
            for (row, property) in rows.iter_mut().zip(&properties) {
                let orders = due.iter().find(|(id, _, _)| *id == property.id);
                row["next"] = next_step(property, orders.map(|(_, n, d)| (*n, *d)), today);
            }
            json!({"properties": rows})
        }
    })
}

/// What a landlord should do next about a property, in both languages: fix its orders by their date, have it
/// inspected, or nothing until its rating runs out.
fn next_step(property: &PropertyRow, orders: Option<(i64, Option<NaiveDate>)>, today: NaiveDate) -> Value {
    let (zh, en, urgent) = match (orders, property.status_on(today)) {
        (Some((n, Some(due))), _) => (
            format!("整改 {n} 项，最早 {due} 到期"),
            format!("Fix {n} item(s), the first by {due}"),
            due <= today,
        ),
        (_, PropertyStatus::Registered | PropertyStatus::Expired) => (
            "等待安全检查".to_owned(),
            "Waiting for a safety inspection".to_owned(),
            false,
        ),
        (_, PropertyStatus::Suspended | PropertyStatus::Delisted) => (
            "请联系村房东协会".to_owned(),
            "Contact the village landlord association".to_owned(),
            true,
        ),
        _ => match property.rating_valid_until {
            Some(until) => (
                format!("无需操作，评级有效至 {until}"),
                format!("Nothing to do; the rating is valid until {until}"),
                false,
            ),
            None => ("无需操作".to_owned(), "Nothing to do".to_owned(), false),
        },
    };
    json!({"zh": zh, "en": en, "urgent": urgent})
}

type Bilingual = (&'static str, &'static str);

/// The start page's heading and its list's heading.
fn headings(role: Role) -> (Bilingual, Bilingual) {
    match role {
        Role::Admin | Role::Auditor => (("村情一览", "The village at a glance"), ("", "")),
        Role::Inspector => (
            ("今日工作", "Today's work"),
            (
                "待检查的出租房（未评级、评级过期或30天内到期）",
                "Due for inspection (never rated, expired, or expiring within 30 days)",
            ),
        ),
        Role::Landlord => (("我的出租房", "My rentals"), ("出租房", "Properties")),
    }
}

/// Properties as a start page lists them.
pub(super) fn rows(properties: &[PropertyRow], today: NaiveDate) -> Vec<Value> {
    properties
        .iter()
        .map(|p| {
            let (lit, unlit) = star_glyphs(p.stars);
            let stars_text = format!("{lit}{unlit}");
            json!({"id": p.id, "code": p.registration_code, "name": p.name, "stars_text": stars_text,
                   "status": status_words(p.status_on(today)), "next": null})
        })
        .collect()
}

/// Weeks the declarations chart shows.
const WEEKS: u32 = 12;
/// The declarations chart's tallest column, in its units (320 × 150: columns, then the week under each).
const COLUMN_HEIGHT: i64 = 110;

/// Each week as a column of the declarations chart: where it stands, how tall it is, and its late part on top.
fn columns(weeks: &[WeekOfDeclarations]) -> Vec<Value> {
    let largest = weeks.iter().map(|w| w.declared).max().unwrap_or(0).max(1);
    weeks
        .iter()
        .enumerate()
        .map(|(i, week)| {
            let height = week.declared * COLUMN_HEIGHT / largest;
            let late = week.late * COLUMN_HEIGHT / largest;
            json!({"week": week.week_start, "label": week.week_start.format("%m-%d").to_string(),
                   "declared": week.declared, "late": week.late,
                   "x": 8 + i as i64 * 26, "y": 10 + COLUMN_HEIGHT - height, "height": height,
                   "late_y": 10 + COLUMN_HEIGHT - late, "late_height": late})
        })
        .collect()
}

/// Each row's bar in a server-drawn chart: its length (up to [`BAR_LENGTH`]) in proportion to the largest count.
fn with_bars(rows: Value) -> Value {
    let Value::Array(mut rows) = rows else { return rows };
    let largest = rows
        .iter()
        .filter_map(|r| r["count"].as_i64())
        .max()
        .unwrap_or(0)
        .max(1);
    for row in &mut rows {
        let count = row["count"].as_i64().unwrap_or(0);
        row["bar"] = json!(count * BAR_LENGTH / largest);
    }
    Value::Array(rows)
}

/// Each grid as a bar of the rectifications chart: its open orders, then its overdue ones, end to end.
fn grid_bars(grids: &[GridRectifications]) -> Vec<Value> {
    let largest = grids.iter().map(|g| g.open + g.overdue).max().unwrap_or(0).max(1);
    grids
        .iter()
        .map(|g| {
            let open = g.open * BAR_LENGTH / largest;
            let overdue = g.overdue * BAR_LENGTH / largest;
            let label = match (&g.grid_code, &g.grid_name) {
                (Some(code), Some(name)) => format!("{code} {name}"),
                _ => "未划网格 no grid".to_owned(),
            };
            json!({"grid": g.grid_code.clone().unwrap_or_default(), "label": label, "open": g.open,
                   "overdue": g.overdue, "open_bar": open, "overdue_bar": overdue, "overdue_x": 96 + open})
        })
        .collect()
}

/// The longest bar of a chart, in the chart's units (320 wide: label, bar, count).
const BAR_LENGTH: i64 = 180;

/// The summary's counts by stars, 5 down to 0, then unrated.
fn by_stars(summary: &Value) -> Value {
    let counts = &summary["properties"]["by_stars"];
    let mut rows: Vec<Value> = (0..=5)
        .rev()
        .map(|stars: i32| {
            let key = stars.to_string();
            let (lit, unlit) = star_glyphs(Some(stars));
            json!({"key": key, "label": format!("{lit}{unlit} {stars}"),
                   "count": counts[&key].as_i64().unwrap_or(0)})
        })
        .collect();
    rows.push(json!({"key": "unrated", "label": "未评级 unrated", "count": counts["unrated"].as_i64().unwrap_or(0)}));
    Value::Array(rows)
}

/// The summary's counts by status, in plain words.
fn by_status(summary: &Value) -> Value {
    let counts = &summary["properties"]["by_status"];
    Value::Array(
        PropertyStatus::ALL
            .iter()
            .map(|status| {
                let words = status_words(*status);
                json!({"key": status.as_str(), "zh": words.zh, "en": words.en,
                       "count": counts[status.as_str()].as_i64().unwrap_or(0)})
            })
            .collect(),
    )
}
