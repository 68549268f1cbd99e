//! The risk-based plans: the inspection plan (`GET /inspections/plan`), a grid's patrol plan
//! (`GET /grids/{id}/patrol-plan`) and the summary's count of inspections overdue.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::{Backend, JsonExt, Session};
use serde_json::{Value, json};

/// Ratings valid 6 months at 5 stars (instead of 24), so that an inspection at most 366 days back can expire.
const SHORT_RATINGS: (&str, &str) = (
    "ANZU_RATING_RULES",
    r#"{"validity_months_by_stars": [0, 3, 6, 12, 18, 6]}"#,
);

/// An apartment block of the scene's landlord, in `grid` when given; its id.
async fn block(s: &Scene, name: &str, grid: Option<&str>) -> String {
    s.app
        .post(
            "/api/v1/properties",
            Some(&s.landlord.token),
            json!({"name": name, "address": format!("{name} 中路1号"), "village_id": s.village_id, "grid_id": grid,
                   "kind": "apartment", "floors": 3, "floor_area_m2": 300.0, "mixed_use_residence": false}),
        )
        .await
        .expect(201)
        .body
        .id()
        .to_owned()
}

async fn grid(s: &Scene, village_id: &str, code: &str) -> String {
    s.app
        .post(
            &format!("/api/v1/villages/{village_id}/grids"),
            Some(&s.admin.token),
            json!({"name": format!("网格 {code}"), "code": code}),
        )
        .await
        .expect(201)
        .body
        .id()
        .to_owned()
}

/// A patrol of the grid on `on`, visiting each property with its finding.
async fn patrol(s: &Scene, grid_id: &str, on: &str, visits: &[(&str, &str)]) {
    let visits: Vec<Value> = visits
        .iter()
        .map(|(id, finding)| json!({"property_id": id, "finding": finding, "note": "楼道堆放杂物"}))
        .collect();
    s.app
        .post(
            &format!("/api/v1/grids/{grid_id}/patrols"),
            Some(&s.inspector.token),
            json!({"patrolled_on": on, "visits": visits}),
        )
        .await
        .expect(201);
}

async fn plan(s: &Scene, session: &Session, query: &str) -> Vec<Value> {
    s.app
        .get(
            &format!("/api/v1/inspections/plan?limit=200{query}"),
            Some(&session.token),
        )
        .await
        .expect(200)
        .body
        .array("items")
        .clone()
}

fn ids(lines: &[Value]) -> Vec<String> {
    lines.iter().map(|l| l["property"].str("id").to_owned()).collect()
}

/// The village's properties, each built to carry one reason, and a grid holding two of them.
struct Village {
    grid: String,
    expired: String,
    interval: String,
    critical: String,
    patrol_issue: String,
    never_rated: String,
    expiring: String,
    later: String,
}

async fn village(s: &Scene) -> Village {
    let grid = grid(s, &s.village_id, "G1").await;
    let expired = block(s, "过期楼", None).await;
    let interval = block(s, "二星楼", None).await;
    let critical = block(s, "危险楼", None).await;
    let patrol_issue = block(s, "巡查楼", Some(&grid)).await;
    let never_rated = block(s, "新楼", Some(&grid)).await;
    let expiring = block(s, "将到期楼", None).await;
    let later = block(s, "好楼", None).await;
    // 5 stars valid 6 months: 200 days ago expired about 17 days ago; 170 days ago runs out within 30 days.
    s.inspect_property(&expired, &date(-200), &[]).await;
    s.inspect_property(&expiring, &date(-170), &[]).await;
    // 2 stars (a failed major item caps them), due again 3 months after: 100 days ago is overdue.
    s.inspect_property(&interval, &date(-100), &["ESC-04"]).await;
    // A failed critical item: 0 stars and a pending critical order, due today.
    s.inspect_property(&critical, &date(0), &["ESC-01"]).await;
    // Inspected 10 days ago at 5 stars; a patrol found an issue after that.
    s.inspect_property(&patrol_issue, &date(-10), &[]).await;
    patrol(s, &grid, &date(-5), &[(&patrol_issue, "issue")]).await;
    // An issue found before the last inspection no longer counts.
    patrol(s, &grid, &date(-20), &[(&later, "issue")]).await;
    s.inspect_property(&later, &date(-10), &[]).await;
    Village {
        grid,
        expired,
        interval,
        critical,
        patrol_issue,
        never_rated,
        expiring,
        later,
    }
}

/// Overdue first (the most overdue first), then due today by the most pressing reason, then due soon; each line
/// with its reasons; a property not due within 30 days is not listed.
async fn the_plan_lists_the_most_urgent_first_with_its_reasons(backend: Backend) {
    let s = Scene::with(backend, &[SHORT_RATINGS]).await;
    let v = village(&s).await;
    let lines = plan(&s, &s.inspector, "").await;
    assert_eq!(
        ids(&lines),
        [
            &v.expired,
            &v.interval,
            &v.critical,
            &v.patrol_issue,
            s.pid(),
            &v.never_rated,
            &v.expiring
        ]
        .map(|id| id.to_owned()),
        "{lines:#?}"
    );
    let reasons: Vec<Value> = lines.iter().map(|l| l["reasons"].clone()).collect();
    assert_eq!(
        reasons,
        [
            json!(["expired"]),
            json!(["interval"]),
            json!(["critical_order_open"]),
            json!(["patrol_issue"]),
            json!(["never_rated"]),
            json!(["never_rated"]),
            json!(["expiring"])
        ]
    );
    let expired = &lines[0];
    assert!(expired["overdue_days"].as_i64().unwrap() > lines[1]["overdue_days"].as_i64().unwrap());
    assert!(lines[1]["overdue_days"].as_i64().unwrap() > 0);
    assert_eq!(expired["property"]["status"], "expired");
    assert_eq!(expired["property"]["stars"], 5);
    assert_eq!(expired["last_inspected_on"], date(-200));
    assert!(expired["property"]["registration_code"].is_string() && expired["property"]["name"] == "过期楼");
    for due_now in &lines[2..6] {
        assert_eq!(due_now["due_on"], date(0), "{due_now}");
        assert_eq!(due_now["overdue_days"], 0);
    }
    assert_eq!(lines[2]["property"]["status"], "rectification");
    assert_eq!(lines[3]["property"]["grid_id"], json!(v.grid));
    assert!(lines[6].str("due_on") > date(0).as_str() && lines[6].str("due_on") <= date(30).as_str());
    assert!(!ids(&lines).contains(&v.later));

    // Resolving the critical order takes the property off the plan (its 0 stars are due in a month).
    let orders = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}", v.critical),
            Some(&s.inspector.token),
        )
        .await
        .expect(200)
        .body;
    let order = &orders.array("items")[0];
    s.app
        .post(
            &format!("/api/v1/rectifications/{}/verify", order.id()),
            Some(&s.inspector.token),
            json!({"resolved": true, "note": "已清理"}),
        )
        .await
        .expect(200);
    let after = plan(&s, &s.inspector, "").await;
    let line = after.iter().find(|l| l["property"]["id"] == json!(v.critical));
    // Due again a month after today's inspection: listed ahead when that day falls within the 30-day horizon,
    // which a month of 31 days puts it one day beyond.
    let today = anzu::ids::today();
    let due = today.checked_add_months(chrono::Months::new(1)).unwrap();
    if due <= today + chrono::Duration::days(30) {
        let line = line.unwrap();
        assert_eq!(line["reasons"], json!(["interval"]));
        assert_eq!(line["due_on"], due.to_string());
    } else {
        assert!(line.is_none(), "due on {due}, beyond the horizon: {line:?}");
    }
}

/// A grid narrows the plan; pages follow one another without a repeat; the summary's count of inspections
/// overdue is the plan's overdue lines.
async fn filters_pages_and_the_summary_agree(backend: Backend) {
    let s = Scene::with(backend, &[SHORT_RATINGS]).await;
    let v = village(&s).await;
    let in_grid = plan(&s, &s.auditor, &format!("&grid_id={}", v.grid)).await;
    assert_eq!(ids(&in_grid), [v.patrol_issue.clone(), v.never_rated.clone()]);

    let whole = plan(&s, &s.inspector, "").await;
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = s
            .app
            .get(
                &format!("/api/v1/inspections/plan?limit=3{cursor}"),
                Some(&s.inspector.token),
            )
            .await
            .expect(200)
            .body;
        paged.extend(page.array("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(ids(&paged), ids(&whole));

    // Another village's lines are the admin's too, but never the inspector's.
    let other = s.app.village(&s.admin).await;
    let far = s.app.user(&s.admin, "landlord", other["id"].as_str()).await;
    s.app.property(&far, other.id()).await;
    assert_eq!(plan(&s, &s.inspector, "").await.len(), whole.len());
    assert_eq!(plan(&s, &s.admin, "").await.len(), whole.len() + 1);
    let own = plan(&s, &s.admin, &format!("&village_id={}", s.village_id)).await;
    assert_eq!(ids(&own), ids(&whole));

    let overdue = whole.iter().filter(|l| l["overdue_days"].as_i64().unwrap() > 0).count();
    assert_eq!(overdue, 2);
    for (session, query) in [
        (&s.auditor, String::new()),
        (&s.admin, format!("?village_id={}", s.village_id)),
    ] {
        let summary = s
            .app
            .get(&format!("/api/v1/reports/summary{query}"), Some(&session.token))
            .await
            .expect(200)
            .body;
        assert_eq!(summary["inspections_overdue"], overdue as i64);
    }
}

/// Landlords 403, another village's inspector 404 (its village or grid named), no token 401, a bad id 400.
async fn the_plans_are_scoped(backend: Backend) {
    let s = Scene::new(backend).await;
    let grid = grid(&s, &s.village_id, "G1").await;
    let other = s.app.village(&s.admin).await;
    let far_grid = grid_of(&s, other.id()).await;
    let far_inspector = s.app.user(&s.admin, "inspector", other["id"].as_str()).await;
    let plan_path = format!("/api/v1/inspections/plan?village_id={}", s.village_id);
    let patrol_path = format!("/api/v1/grids/{grid}/patrol-plan");
    for path in [&plan_path, &patrol_path] {
        s.app.get(path, Some(&s.landlord.token)).await.problem(403);
        s.app.get(path, Some(&far_inspector.token)).await.problem(404);
        s.app.get(path, None).await.problem(401);
        s.app.get(path, Some(&s.inspector.token)).await.expect(200);
    }
    let foreign_grid = format!("/api/v1/inspections/plan?grid_id={far_grid}");
    s.app.get(&foreign_grid, Some(&s.inspector.token)).await.problem(404);
    s.app
        .get(
            &format!(
                "/api/v1/inspections/plan?village_id={}&grid_id={far_grid}",
                s.village_id
            ),
            Some(&s.admin.token),
        )
        .await
        .problem(404);
    let unknown = "/api/v1/inspections/plan?village_id=01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e10";
    s.app.get(unknown, Some(&s.admin.token)).await.problem(404);
    let bad = s
        .app
        .get("/api/v1/inspections/plan?village_id=abc&limit=0", Some(&s.admin.token))
        .await
        .problem(400);
    assert_eq!(bad["errors"].as_array().map(Vec::len), Some(1), "{bad}");
    s.app
        .get(
            "/api/v1/grids/01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e10/patrol-plan",
            Some(&s.admin.token),
        )
        .await
        .problem(404);
}

async fn grid_of(s: &Scene, village_id: &str) -> String {
    grid(s, village_id, "FAR").await
}

/// Sets a property's stars and status straight in the database: the patrol grades read only these.
fn rate(s: &Scene, id: &str, stars: Option<i32>, status: &str) {
    use anzu::db::schema::properties;
    use diesel::prelude::*;
    let mut conn = s.app.db.get().unwrap();
    diesel::update(properties::table.find(id))
        .set((properties::stars.eq(stars), properties::status.eq(status)))
        .execute(&mut *conn)
        .unwrap();
}

/// Red (0–1 stars, suspended, never rated) every 7 days, orange (2) 14, yellow (3) 30, green (4–5) 90: a
/// property is listed once its last visit is that old, or never visited; the most overdue first, then by colour.
/// A re-rating request and an upheld appeal each put a well-rated property on the plan at once, with its reason;
/// the next inspection takes it off again.
async fn rerating_requests_and_upheld_appeals_come_first(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(-1), &[]).await;
    let reasons = |lines: &[Value]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["property"].str("id") == s.pid())
            .flat_map(|l| {
                l.array("reasons")
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert!(
        reasons(&plan(&s, &s.inspector, "").await).is_empty(),
        "five stars yesterday: not due"
    );
    s.app
        .post(
            &format!("/api/v1/properties/{}/rerating-requests", s.pid()),
            Some(&s.landlord.token),
            json!({}),
        )
        .await
        .expect(201);
    let lines = plan(&s, &s.inspector, "").await;
    assert_eq!(reasons(&lines), ["rerating_requested"]);
    assert_eq!(lines[0]["property"].str("id"), s.pid(), "first");
    s.inspect(&date(0), &[]).await;
    assert!(
        reasons(&plan(&s, &s.inspector, "").await).is_empty(),
        "the inspection answered the request"
    );

    let appeal = s
        .app
        .post(
            &format!("/api/v1/inspections/{}/appeals", inspection.id()),
            Some(&s.landlord.token),
            json!({"reason": "检查有误"}),
        )
        .await;
    // The appeal is against the latest inspection: lodge it there.
    let appeal = if appeal.status == 201 {
        appeal.body
    } else {
        let latest = s
            .app
            .get(
                &format!("/api/v1/properties/{}/inspections", s.pid()),
                Some(&s.landlord.token),
            )
            .await
            .body;
        let latest = latest
            .array("items")
            .iter()
            .max_by_key(|i| i.str("inspected_on").to_owned())
            .unwrap()
            .clone();
        s.app
            .post(
                &format!("/api/v1/inspections/{}/appeals", latest.id()),
                Some(&s.landlord.token),
                json!({"reason": "检查有误"}),
            )
            .await
            .expect(201)
            .body
    };
    let etag = format!("\"{}\"", appeal["version"]);
    s.app
        .call(
            "POST",
            &format!("/api/v1/appeals/{}/decision", appeal.id()),
            Some(&s.auditor.token),
            &[("If-Match", etag.as_str())],
            Some(&json!({"decision": "upheld"})),
        )
        .await
        .expect(200);
    assert_eq!(reasons(&plan(&s, &s.inspector, "").await), ["appeal_upheld"]);
    s.inspect(&date(0), &[]).await;
    assert!(
        reasons(&plan(&s, &s.inspector, "").await).is_empty(),
        "re-inspected after the appeal"
    );
}

async fn the_patrol_plan_grades_by_colour(backend: Backend) {
    let s = Scene::with(
        backend,
        &[(
            "ANZU_INSPECTION_PLAN",
            r#"{"patrol_visit_days": {"red": 7, "orange": 14, "yellow": 30, "green": 90}}"#,
        )],
    )
    .await;
    let grid = grid(&s, &s.village_id, "G1").await;
    let mut made = std::collections::HashMap::new();
    for (name, stars, status, visited) in [
        ("red_never", None, "registered", None),
        ("red_late", Some(1), "rated", Some(-8)),
        ("red_fresh", Some(0), "rectification", Some(-6)),
        ("suspended", Some(5), "suspended", Some(-7)),
        ("orange_late", Some(2), "rated", Some(-15)),
        ("orange_fresh", Some(2), "rated", Some(-13)),
        ("yellow_late", Some(3), "rated", Some(-31)),
        ("green_due", Some(4), "rated", Some(-90)),
        ("green_fresh", Some(5), "rated", Some(-89)),
    ] {
        let id = block(&s, name, Some(&grid)).await;
        rate(&s, &id, stars, status);
        if let Some(days) = visited {
            patrol(&s, &grid, &date(days), &[(&id, "ok")]).await;
        }
        made.insert(name, id);
    }
    let outside = block(&s, "outside", None).await;
    let plan = s
        .app
        .get(
            &format!("/api/v1/grids/{grid}/patrol-plan?limit=200"),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    let lines = plan.array("items");
    let names: Vec<&str> = lines
        .iter()
        .map(|l| {
            let id = l["property"].str("id");
            *made.iter().find(|(_, v)| v.as_str() == id).unwrap().0
        })
        .collect();
    // Overdue by one day: red, orange, yellow; due today: red ones by code, then green.
    assert_eq!(
        names,
        [
            "red_late",
            "orange_late",
            "yellow_late",
            "red_never",
            "suspended",
            "green_due"
        ]
    );
    let grades: Vec<&str> = lines.iter().map(|l| l.str("grade")).collect();
    assert_eq!(grades, ["red", "orange", "yellow", "red", "red", "green"]);
    let every: Vec<i64> = lines.iter().map(|l| l["visit_every_days"].as_i64().unwrap()).collect();
    assert_eq!(every, [7, 14, 30, 7, 7, 90]);
    assert_eq!(lines[0]["overdue_days"], 1);
    assert_eq!(lines[0]["last_visited_on"], date(-8));
    assert_eq!(lines[3]["last_visited_on"], Value::Null);
    assert_eq!(lines[3]["due_on"], date(0));
    assert!(!lines.iter().any(|l| l["property"]["id"] == json!(outside)));

    // A visit today takes a property off the plan.
    patrol(&s, &grid, &date(0), &[(&made["red_late"], "ok")]).await;
    let after = s
        .app
        .get(&format!("/api/v1/grids/{grid}/patrol-plan"), Some(&s.inspector.token))
        .await
        .expect(200)
        .body;
    assert_eq!(after.array("items").len(), 5);
}

backend_tests!(
    rerating_requests_and_upheld_appeals_come_first,
    the_plan_lists_the_most_urgent_first_with_its_reasons,
    filters_pages_and_the_summary_agree,
    the_plans_are_scoped,
    the_patrol_plan_grades_by_colour,
);
