//! Inspections, star ratings, rectification orders, exit, expiry and the public rating.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::{Backend, JsonExt, Session, resident_id};
use serde_json::{Value, json};

async fn the_checklist_is_bilingual_with_its_rules(backend: Backend) {
    let s = Scene::new(backend).await;
    s.app.get("/api/v1/checklist", None).await.problem(401);
    let checklist = s
        .app
        .get("/api/v1/checklist", Some(&s.landlord.token))
        .await
        .expect(200)
        .body;
    let items = checklist.array("items");
    assert!(items.len() >= 20);
    assert_eq!(checklist["version"], 1);
    for item in items {
        for key in [
            "code",
            "category",
            "severity",
            "weight",
            "title_zh",
            "title_en",
            "applies_to",
        ] {
            assert!(!item[key].is_null(), "{key} missing in {item}");
        }
    }
    for severity in ["critical", "major", "minor"] {
        assert!(items.iter().any(|i| i["severity"] == severity));
    }
    let mixed = items.iter().find(|i| i["code"] == "MIX-01").unwrap();
    assert_eq!(mixed["applies_to"], json!(["factory", "mixed_use"]));
    assert_eq!(checklist["rules"]["star_thresholds"], json!([90, 80, 70, 60]));
}

async fn a_clean_inspection_gives_five_stars(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(0), &[]).await;
    assert_eq!(
        (inspection["score"].as_i64(), inspection["stars"].as_i64()),
        (Some(100), Some(5))
    );
    assert_eq!(inspection["next_star"], Value::Null);
    assert_eq!(inspection["failed_items"], json!([]));
    assert_eq!(inspection["inspector_id"], s.inspector.user["id"]);
    let valid = anzu::ids::today()
        .checked_add_months(chrono::Months::new(24))
        .unwrap()
        .to_string();
    assert_eq!(inspection["valid_until"], valid);
    let property = s.property_now().await;
    assert_eq!(
        (property["stars"].as_i64(), property["score"].as_i64()),
        (Some(5), Some(100))
    );
    assert_eq!(property["status"], "rated");
    assert_eq!(property["rating_valid_until"], valid);
    let fetched = s
        .app
        .get(
            &format!("/api/v1/inspections/{}", inspection.id()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(fetched["id"], inspection["id"]);
    let listed = s
        .app
        .get(
            &format!("/api/v1/properties/{}/inspections", s.pid()),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        listed["items"][0].array("results").len(),
        inspection.array("results").len()
    );
}

async fn failures_cap_the_rating_and_open_orders_with_deadlines(backend: Backend) {
    let s = Scene::new(backend).await;
    let minor = s.inspect(&date(0), &["MGT-01"]).await;
    assert_eq!(minor["stars"], 5, "a small minor failure keeps five stars");
    assert_eq!(minor["rectifications"][0]["due_on"], date(30));
    assert_eq!(minor["rectifications"][0]["severity"], "minor");
    assert_eq!(minor["next_star"], Value::Null);

    let major = s.inspect(&date(0), &["GAS-02"]).await;
    assert_eq!(major["stars"], 2, "a failed major caps at two stars");
    assert_eq!(major["rectifications"][0]["due_on"], date(7));
    assert_eq!(major["next_star"], json!({"stars": 5, "fix_items": ["GAS-02"]}));
    assert_eq!(s.property_now().await["status"], "rated");

    let critical = s.inspect(&date(0), &["ESC-01", "ELEC-01", "MGT-02"]).await;
    assert_eq!(critical["stars"], 0);
    assert_eq!(critical["valid_until"], Value::Null);
    assert_eq!(critical["failed_items"], json!(["ESC-01", "ELEC-01", "MGT-02"]));
    let dues: Vec<(&str, &str)> = critical["rectifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r.str("item_code"), r.str("due_on")))
        .collect();
    let (tomorrow, month) = (date(1), date(30));
    assert_eq!(
        dues,
        vec![
            ("ESC-01", tomorrow.as_str()),
            ("ELEC-01", tomorrow.as_str()),
            ("MGT-02", month.as_str())
        ]
    );
    assert_eq!(critical["next_star"]["fix_items"], json!(["ELEC-01", "ESC-01"]));
    let property = s.property_now().await;
    assert_eq!(
        (property["status"].as_str(), property["stars"].as_i64()),
        (Some("rectification"), Some(0))
    );

    // The earlier GAS-02 order was resolved by passing this time; the minor one too.
    let open = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}&status=open", s.pid()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    let codes: Vec<&str> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.str("item_code"))
        .collect();
    assert_eq!(codes, vec!["ESC-01", "ELEC-01", "MGT-02"]);
}

async fn inspections_name_every_bad_result(backend: Backend) {
    let s = Scene::new(backend).await;
    let mut results = s.results(&[]).await;
    let removed: Vec<String> = results.drain(0..2).map(|r| r.str("item_code").to_owned()).collect();
    results.push(json!({"item_code": "NOPE-99", "outcome": "pass"}));
    results.push(results[0].clone());
    results.push(json!({"item_code": "MIX-01", "outcome": "pass"}));
    let n = results.len();
    let answer = s
        .app
        .post(
            &format!("/api/v1/properties/{}/inspections", s.pid()),
            Some(&s.inspector.token),
            json!({"inspected_on": date(0), "results": results}),
        )
        .await;
    let fields = answer.error_fields();
    for expected in [
        format!("results[{}].item_code", n - 3),
        format!("results[{}].item_code", n - 2),
        format!("results[{}].item_code", n - 1),
        format!("results.{}", removed[0]),
        format!("results.{}", removed[1]),
    ] {
        assert!(fields.contains(&expected), "{expected} not named in {fields:?}");
    }
    let codes: Vec<&str> = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.str("code"))
        .collect();
    for code in ["unknown", "duplicate", "not_applicable", "missing"] {
        assert!(codes.contains(&code), "{code}");
    }
    answer.problem(422);
    let future = s.inspect_as(&s.inspector, &date(1), &[]).await;
    assert_eq!(future.error_fields(), vec!["inspected_on"]);
    future.problem(422);
    assert_eq!((s.app.count("inspections"), s.app.count("rectifications")), (0, 0));
}

async fn who_may_inspect(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect_as(&s.landlord, &date(0), &[]).await.problem(403);
    let far = s.app.village(&s.admin).await;
    let far_inspector = s.app.user(&s.admin, "inspector", far["id"].as_str()).await;
    s.inspect_as(&far_inspector, &date(0), &[]).await.problem(404);
    s.inspect_as(&s.auditor, &date(0), &[]).await.expect(201);
    s.inspect_as(&s.admin, &date(0), &[]).await.expect(201);
    s.inspect(&date(0), &[]).await;
}

async fn rectification_life_cycle(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(0), &["ESC-02"]).await;
    let order = &inspection["rectifications"][0];
    assert_eq!(order["status"], "open");
    let id = order.id();
    let (report, verify) = (
        format!("/api/v1/rectifications/{id}/report"),
        format!("/api/v1/rectifications/{id}/verify"),
    );

    let stranger = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    s.app
        .post(&report, Some(&stranger.token), json!({"note": "done"}))
        .await
        .problem(404);
    s.app
        .post(&report, Some(&s.inspector.token), json!({"note": "done"}))
        .await
        .problem(403);
    s.app
        .post(
            &verify,
            Some(&s.landlord.token),
            json!({"resolved": true, "note": "trust me"}),
        )
        .await
        .problem(403);

    let reported = s
        .app
        .post(&report, Some(&s.landlord.token), json!({"note": "装了第二个出口"}))
        .await
        .expect(200)
        .body;
    assert_eq!(reported["status"], "reported");
    s.app
        .post(&report, Some(&s.landlord.token), json!({"note": "again"}))
        .await
        .problem(409);
    let reopened = s
        .app
        .post(
            &verify,
            Some(&s.inspector.token),
            json!({"resolved": false, "note": "门被锁住"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["verify_note"], "门被锁住");
    s.app
        .post(&report, Some(&s.landlord.token), json!({"note": "钥匙挂在门边"}))
        .await
        .expect(200);
    assert_eq!(s.property_now().await["status"], "rectification");
    let resolved = s
        .app
        .post(
            &verify,
            Some(&s.inspector.token),
            json!({"resolved": true, "note": "ok"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(resolved["status"], "resolved");
    s.app
        .post(
            &verify,
            Some(&s.inspector.token),
            json!({"resolved": true, "note": "ok"}),
        )
        .await
        .problem(409);
    assert_eq!(
        s.property_now().await["status"],
        "rectification",
        "zero stars until re-inspected"
    );
    s.inspect(&date(0), &[]).await;
    assert_eq!(s.property_now().await["status"], "rated");
}

async fn an_overdue_critical_order_suspends(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(-3), &["STR-01"]).await;
    assert_eq!(inspection["rectifications"][0]["due_on"], date(-2));
    assert_eq!(s.property_now().await["status"], "suspended");
    let suspended = s
        .app
        .get("/api/v1/properties?status=suspended", Some(&s.auditor.token))
        .await
        .expect(200)
        .body;
    assert_eq!(suspended.array("items").len(), 1);
}

async fn a_later_inspection_supersedes_orders_for_the_same_item(backend: Backend) {
    let s = Scene::new(backend).await;
    let first = s.inspect(&date(-1), &["GAS-03", "MGT-01"]).await;
    let second = s.inspect(&date(0), &["GAS-03"]).await;
    let all = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}", s.pid()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    let listed: Vec<(&str, &str)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r.str("item_code"), r.str("status")))
        .collect();
    assert_eq!(
        listed,
        vec![("MGT-01", "resolved"), ("GAS-03", "open")],
        "one open order per item, superseded ones hidden"
    );
    assert_eq!(all["items"][1]["inspection_id"], second["id"]);
    let superseded = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}&status=superseded", s.pid()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(superseded["items"][0]["inspection_id"], first["id"]);
}

async fn an_older_inspection_entered_late_does_not_replace_the_rating(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(0), &["GAS-03"]).await;
    s.inspect(&date(-30), &["GAS-02"]).await;
    assert_eq!(s.property_now().await["stars"], 2, "the newer inspection still rates");
    let open = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}&status=open", s.pid()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    let codes: Vec<&str> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.str("item_code"))
        .collect();
    assert_eq!(
        codes,
        vec!["GAS-03", "GAS-02"],
        "the older inspection neither resolves nor supersedes the newer order"
    );
}

async fn delisting_and_reinstating(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(0), &[]).await;
    let delist = format!("/api/v1/properties/{}/delist", s.pid());
    let reinstate = format!("/api/v1/properties/{}/reinstate", s.pid());
    s.app
        .post(&delist, Some(&s.landlord.token), json!({"reason": "x"}))
        .await
        .problem(403);
    s.app
        .post(&delist, Some(&s.inspector.token), json!({"reason": "x"}))
        .await
        .problem(403);
    let far = s.app.village(&s.admin).await;
    let far_auditor = s.app.user(&s.admin, "auditor", far["id"].as_str()).await;
    s.app
        .post(&delist, Some(&far_auditor.token), json!({"reason": "x"}))
        .await
        .problem(404);
    let missing = s.app.post(&delist, Some(&s.auditor.token), json!({})).await;
    assert_eq!(missing.error_fields(), vec!["reason"]);
    s.app
        .post(&reinstate, Some(&s.auditor.token), json!({"reason": "not delisted"}))
        .await
        .problem(409);

    let delisted = s
        .app
        .post(&delist, Some(&s.auditor.token), json!({"reason": "拒不整改"}))
        .await
        .expect(200)
        .body;
    assert_eq!(delisted["status"], "delisted");
    s.app
        .post(&delist, Some(&s.auditor.token), json!({"reason": "again"}))
        .await
        .problem(409);
    s.app
        .post(
            &format!("/api/v1/properties/{}/units", s.pid()),
            Some(&s.landlord.token),
            json!({"label": "1", "floor": 1, "area_m2": 10.0, "kind": "room"}),
        )
        .await
        .problem(409);
    let unit = s
        .app
        .post(
            &format!("/api/v1/properties/{}/units", s.pid()),
            Some(&s.admin.token),
            json!({"label": "1", "floor": 1, "area_m2": 10.0, "kind": "room"}),
        )
        .await;
    unit.problem(409);
    let events = s
        .app
        .get(
            &format!("/api/v1/audit-events?entity_id={}", s.pid()),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "property.delisted" && e["detail"]["reason"] == "拒不整改")
    );

    let back = s
        .app
        .post(&reinstate, Some(&s.admin.token), json!({"reason": "整改完成"}))
        .await
        .expect(200)
        .body;
    assert_eq!(back["status"], "rated");
}

async fn a_delisted_property_still_records_who_lives_there(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 20.0).await;
    s.app
        .post(
            &format!("/api/v1/properties/{}/delist", s.pid()),
            Some(&s.admin.token),
            json!({"reason": "unsafe"}),
        )
        .await
        .expect(200);
    let declared = s
        .app
        .declare(&s.landlord, unit.id(), &resident_id("19920202", 5), &date(0))
        .await
        .expect(201)
        .body;
    let events = s
        .app
        .get(
            &format!("/api/v1/audit-events?entity_id={}", declared.id()),
            Some(&s.admin.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        events["items"][0]["detail"]["property_delisted"], true,
        "the declaration is flagged"
    );
}

async fn ratings_expire_when_read(backend: Backend) {
    let s = Scene::new(backend).await;
    // A two-star rating (capped by a failed major item) lasts 6 months: one from 200 days ago has expired.
    let rating = s.inspect(&date(-200), &["ESC-04"]).await;
    assert_eq!(rating["stars"], 2);
    let property = s.property_now().await;
    assert_eq!(property["status"], "expired");
    let expired = s
        .app
        .get("/api/v1/properties?status=expired", Some(&s.auditor.token))
        .await
        .expect(200)
        .body;
    assert_eq!(expired.array("items").len(), 1);
    let rated = s
        .app
        .get("/api/v1/properties?status=rated", Some(&s.auditor.token))
        .await
        .expect(200)
        .body;
    assert!(rated.array("items").is_empty());
    let code = property.str("registration_code");
    assert_eq!(
        s.app
            .get(&format!("/public/v1/ratings/{code}"), None)
            .await
            .expect(200)
            .body["status"],
        "expired"
    );
    s.inspect(&date(0), &[]).await;
    assert_eq!(s.property_now().await["status"], "rated");
}

async fn the_register_contradicts_a_passed_area_rule(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 5.0).await;
    for seq in [1, 3] {
        s.app
            .declare(&s.landlord, unit.id(), &resident_id("19930303", seq), &date(0))
            .await
            .expect(201);
    }
    let answer = s.inspect_as(&s.inspector, &date(0), &[]).await;
    assert!(
        answer.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "contradicts_register")
    );
    answer.problem(422);
    let mut results = s.results(&[]).await;
    for r in results.iter_mut().filter(|r| r["item_code"] == "OCC-01") {
        r["outcome"] = json!("na");
    }
    let na = json!({"inspected_on": date(0), "results": results});
    s.app
        .post(
            &format!("/api/v1/properties/{}/inspections", s.pid()),
            Some(&s.inspector.token),
            na,
        )
        .await
        .problem(422);
    s.inspect(&date(0), &["OCC-01"]).await;
}

async fn the_public_rating_shows_nothing_personal(backend: Backend) {
    let s = Scene::with(backend, &[("ANZU_PUBLIC_RATE_PER_MINUTE", "4")]).await;
    s.inspect(&date(0), &["MGT-01"]).await;
    let code = s.property.str("registration_code");
    let rating = s
        .app
        .get(&format!("/public/v1/ratings/{code}"), None)
        .await
        .expect(200)
        .body;
    let mut keys: Vec<&str> = rating.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "kind",
            "owner_reply",
            "registration_code",
            "stars",
            "status",
            "valid_until",
            "village"
        ]
    );
    // Only what the owner chose to publish (tests/appeals.rs); none here.
    assert_eq!(rating["owner_reply"], Value::Null);
    assert_eq!(rating["stars"], 5);
    assert!(rating.str("village").starts_with("Village"));
    let text = rating.to_string();
    assert!(!text.contains(s.landlord.user.id()) && !text.contains("Test landlord"));

    let plaque = s
        .app
        .get(&format!("/public/v1/ratings/{code}/plaque.svg"), None)
        .await
        .expect(200);
    assert!(plaque.header("content-type").unwrap().starts_with("image/svg+xml"));
    let svg = plaque.text();
    assert!(
        svg.contains(code) && svg.contains("★★★★★") && svg.matches("<svg").count() == 2,
        "{svg}"
    );
    assert!(svg.contains(rating.str("valid_until")), "the validity is printed");

    s.app.get("/public/v1/ratings/NOPE-000001", None).await.problem(404);
    s.app.get(&format!("/public/v1/ratings/{code}"), None).await.expect(200);
    // Four look-ups a minute from one address: the fifth waits.
    let limited = s.app.get(&format!("/public/v1/ratings/{code}"), None).await;
    assert!(limited.header("retry-after").is_some());
    limited.problem(429);
}

async fn behind_a_trusted_proxy_limits_count_per_forwarded_address(backend: Backend) {
    // The test client stands in for the proxy (peer 127.0.0.1), which appends the address it received from.
    for trusted in ["true", "127.0.0.1"] {
        let s = Scene::with(
            backend,
            &[("ANZU_PUBLIC_RATE_PER_MINUTE", "1"), ("ANZU_TRUST_PROXY", trusted)],
        )
        .await;
        let path = format!("/public/v1/ratings/{}", s.property.str("registration_code"));
        for (forwarded, status) in [
            ("203.0.113.7", 200),
            ("203.0.113.7", 429),
            ("203.0.113.8", 200),
            // A client rotating what it writes to the left of the proxy's entry is still one client.
            ("198.51.100.1, 203.0.113.9", 200),
            ("198.51.100.2, 203.0.113.9", 429),
            ("198.51.100.3,198.51.100.4, 203.0.113.9", 429),
        ] {
            let answer = s
                .app
                .call("GET", &path, None, &[("X-Forwarded-For", forwarded)], None)
                .await;
            assert_eq!(answer.status, status, "{trusted}: {forwarded}");
        }
        s.app.stop().await;
    }
}

/// Every state change takes `If-Match`: a stale version answers 412 and changes nothing; the current one applies.
async fn state_changes_check_if_match(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(0), &["ESC-02"]).await;
    let order_id = inspection["rectifications"][0].id().to_owned();
    let property_path = format!("/api/v1/properties/{}", s.pid());
    let order_etag = |order: &Value| format!("\"{}\"", order["version"]);
    let stale = [("If-Match", "\"99\"")];
    let steps: [(String, &Session, Value, bool); 4] = [
        (
            format!("/api/v1/rectifications/{order_id}/report"),
            &s.landlord,
            json!({"note": "fixed"}),
            true,
        ),
        (
            format!("/api/v1/rectifications/{order_id}/verify"),
            &s.inspector,
            json!({"resolved": true, "note": "ok"}),
            true,
        ),
        (
            format!("{property_path}/delist"),
            &s.auditor,
            json!({"reason": "unsafe"}),
            false,
        ),
        (
            format!("{property_path}/reinstate"),
            &s.auditor,
            json!({"reason": "made safe"}),
            false,
        ),
    ];
    for (path, who, body, on_order) in steps {
        let before = if on_order {
            let list = s
                .app
                .get(
                    &format!("/api/v1/rectifications?property_id={}", s.pid()),
                    Some(&s.admin.token),
                )
                .await
                .expect(200)
                .body;
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["id"] == order_id.as_str())
                .unwrap()
                .clone()
        } else {
            s.property_now().await
        };
        s.app
            .call("POST", &path, Some(&who.token), &stale, Some(&body))
            .await
            .problem(412);
        let unchanged = if on_order { None } else { Some(s.property_now().await) };
        if let Some(after) = unchanged {
            assert_eq!(
                after["version"], before["version"],
                "{path}: a refused change changed the property"
            );
        }
        let etag = order_etag(&before);
        let answer = s
            .app
            .call(
                "POST",
                &path,
                Some(&who.token),
                &[("If-Match", etag.as_str())],
                Some(&body),
            )
            .await
            .expect(200);
        assert_ne!(answer.body["version"], before["version"], "{path}");
    }
}

backend_tests!(
    state_changes_check_if_match,
    behind_a_trusted_proxy_limits_count_per_forwarded_address,
    the_checklist_is_bilingual_with_its_rules,
    a_clean_inspection_gives_five_stars,
    failures_cap_the_rating_and_open_orders_with_deadlines,
    inspections_name_every_bad_result,
    who_may_inspect,
    rectification_life_cycle,
    an_overdue_critical_order_suspends,
    a_later_inspection_supersedes_orders_for_the_same_item,
    an_older_inspection_entered_late_does_not_replace_the_rating,
    delisting_and_reinstating,
    a_delisted_property_still_records_who_lives_there,
    ratings_expire_when_read,
    the_register_contradicts_a_passed_area_rule,
    the_public_rating_shows_nothing_personal,
);

async fn only_a_landlord_in_good_standing_reports_a_fix(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(0), &["ESC-02", "FIRE-01"]).await;
    let report = |index: usize| {
        format!(
            "/api/v1/rectifications/{}/report",
            inspection["rectifications"][index].id()
        )
    };
    let membership = format!("/api/v1/users/{}/membership", s.landlord.id());
    let change = |action: &'static str| json!({"action": action, "reason": "协会决定"});

    // A suspended landlord still keeps their records: fixing is what a suspension asks for.
    s.app
        .post(&membership, Some(&s.admin.token), change("suspend"))
        .await
        .expect(200);
    s.app
        .post(&report(0), Some(&s.landlord.token), json!({"note": "装了第二个出口"}))
        .await
        .expect(200);

    s.app
        .post(&membership, Some(&s.admin.token), change("expel"))
        .await
        .expect(200);
    let refused = s
        .app
        .post(&report(1), Some(&s.landlord.token), json!({"note": "已整改"}))
        .await
        .problem(403);
    assert!(refused.str("type").ends_with("membership-inactive"));
    let orders = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}", s.pid()),
            Some(&s.admin.token),
        )
        .await
        .expect(200)
        .body;
    let still_open = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "open")
        .count();
    assert_eq!(still_open, 1, "the refused report changed nothing");
}

backend_tests!(only_a_landlord_in_good_standing_reports_a_fix);

/// An inspection is dated neither in the future nor more than 366 days back: a rating born expired (or
/// "valid until 0003-01-01") is not a rating. Notes and reasons refuse invisible characters.
async fn inspections_are_dated_within_the_last_year(backend: Backend) {
    let s = Scene::new(backend).await;
    for on in [
        "0001-01-01",
        "1900-01-01",
        &date(-367),
        &date(1),
        "2100-12-31",
        "-4713-01-01",
    ] {
        let answer = s.inspect_as(&s.inspector, on, &[]).await;
        assert_eq!(answer.error_fields(), vec!["inspected_on"], "{on}: {}", answer.body);
        answer.problem(422);
    }
    assert_eq!(s.app.count("inspections"), 0);
    let oldest = s.inspect(&date(-366), &["ESC-02"]).await;
    let order = oldest["rectifications"][0].id().to_owned();

    let mut results = s.results(&[]).await;
    results[0]["note"] = json!("门\u{202E}锁");
    let answer = s
        .app
        .post(
            &format!("/api/v1/properties/{}/inspections", s.pid()),
            Some(&s.inspector.token),
            json!({"inspected_on": date(0), "results": results, "summary": "a\u{200B}b"}),
        )
        .await;
    assert_eq!(answer.error_fields(), vec!["results[0].note", "summary"]);
    answer.problem(422);
    for (path, session, body, field) in [
        (
            format!("/api/v1/rectifications/{order}/report"),
            &s.landlord,
            json!({"note": "修好了\u{7}"}),
            "note",
        ),
        (
            format!("/api/v1/rectifications/{order}/verify"),
            &s.inspector,
            json!({"resolved": true, "note": "\u{2066}好"}),
            "note",
        ),
        (
            format!("/api/v1/properties/{}/delist", s.pid()),
            &s.auditor,
            json!({"reason": "拒不\n整改"}),
            "reason",
        ),
    ] {
        let answer = s.app.post(&path, Some(&session.token), body).await;
        assert_eq!(answer.error_fields(), vec![field], "{path}");
        answer.problem(422);
    }
    let report = s
        .app
        .post(
            &format!("/api/v1/rectifications/{order}/report"),
            Some(&s.landlord.token),
            json!({"note": "装了第二个出口，Cafe\u{301}"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(report["report_note"], "装了第二个出口，Caf\u{e9}");
}

backend_tests!(inspections_are_dated_within_the_last_year);

/// The page behind the plaque: the rating in words, Chinese first, nothing personal, the association's contact; an
/// unknown code is a friendly page; the stylesheet is the only thing it loads.
async fn the_public_page_shows_the_rating_in_words(backend: Backend) {
    let contact = "村房东协会 0591-12345678，村委会一楼";
    let s = Scene::with(backend, &[("ANZU_ASSOCIATION_CONTACT", contact)]).await;
    let code = s.property.str("registration_code").to_owned();
    let page = s.app.get(&format!("/r/{code}"), None).await.expect(200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-cache"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.contains("default-src 'none'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    let html = page.text();
    for expected in [
        code.as_str(),
        "未评级",
        "Not yet rated",
        contact,
        "公寓楼",
        "尚未检查",
        "90 分以上",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert!(!html.contains("<script") && !html.contains("style="), "nothing inline");
    let landlord = s.app.get("/api/v1/me", Some(&s.landlord.token)).await.expect(200).body;
    for personal in [landlord.str("full_name"), landlord.str("email"), landlord.str("phone")] {
        assert!(!html.contains(personal), "{personal} must not be on the page");
    }

    // The one stylesheet, under a name that changes with its content, cached for good; no other file.
    let href = regex::Regex::new(r#"href="(/static/anzu-[0-9a-f]{12}\.css)""#)
        .unwrap()
        .captures(&html)
        .expect("a stylesheet link")[1]
        .to_owned();
    let css = s.app.get(&href, None).await.expect(200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.header("cache-control").unwrap().contains("immutable"));
    let missing = s.app.get("/static/anzu-000000000000.css", None).await;
    assert_eq!(missing.status, 404);

    s.inspect(&date(-3), &[]).await;
    let rated = s.app.get(&format!("/r/{code}"), None).await.expect(200).text();
    let valid_until = s.property_now().await.str("rating_valid_until").to_owned();
    for expected in [
        r#"data-stars="5""#,
        "★★★★★",
        "已评级",
        "Rated",
        valid_until.as_str(),
        date(-3).as_str(),
    ] {
        assert!(rated.contains(expected), "{expected} in {rated}");
    }

    let unknown = s.app.get("/r/NOPE-000001", None).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.header("content-type").unwrap().starts_with("text/html"));
    let unknown = unknown.text();
    assert!(unknown.contains("没有找到") && unknown.contains("No rental has this registration code"));
}

/// The page shares the JSON's limit per address; past it, a page that says to wait, with `Retry-After`.
async fn the_public_page_is_rate_limited_like_the_json(backend: Backend) {
    let s = Scene::with(backend, &[("ANZU_PUBLIC_RATE_PER_MINUTE", "2")]).await;
    let code = s.property.str("registration_code");
    s.app.get(&format!("/r/{code}"), None).await.expect(200);
    s.app.get(&format!("/public/v1/ratings/{code}"), None).await.expect(200);
    let limited = s.app.get(&format!("/r/{code}"), None).await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
    assert!(limited.text().contains("查询太频繁"));
}

/// A new inspection, a delisting and a reinstatement show at once on the page, the JSON and the plaque of the
/// process that made them, although answers are otherwise kept for a minute.
async fn a_changed_rating_shows_at_once(backend: Backend) {
    let s = Scene::new(backend).await;
    let code = s.property.str("registration_code").to_owned();
    let path = format!("/public/v1/ratings/{code}");
    s.inspect(&date(0), &[]).await;
    assert_eq!(s.app.get(&path, None).await.expect(200).body["stars"], 5, "now cached");
    // A failed major item caps the rating at 2 stars.
    s.inspect(&date(0), &["ESC-04"]).await;
    assert_eq!(s.app.get(&path, None).await.expect(200).body["stars"], 2);
    let page = s.app.get(&format!("/r/{code}"), None).await.expect(200).text();
    assert!(page.contains(r#"data-stars="2""#), "{page}");
    let plaque = s
        .app
        .get(&format!("/public/v1/ratings/{code}/plaque.svg"), None)
        .await
        .expect(200)
        .text();
    assert!(plaque.contains("★★☆☆☆"), "{plaque}");

    let property = s.property_now().await;
    let version = format!("\"{}\"", property["version"]);
    s.app
        .call(
            "POST",
            &format!("/api/v1/properties/{}/delist", s.pid()),
            Some(&s.auditor.token),
            &[("If-Match", version.as_str())],
            Some(&json!({"reason": "unsafe wiring"})),
        )
        .await
        .expect(200);
    assert_eq!(s.app.get(&path, None).await.expect(200).body["status"], "delisted");
    let page = s.app.get(&format!("/r/{code}"), None).await.expect(200).text();
    assert!(page.contains("已清退"), "{page}");
}

/// The plaque's QR code holds the page's short address and reads back from a photo-sized, slightly noisy
/// rendering; the short address never makes a finer code than the JSON's address did.
async fn the_plaque_qr_code_reads_back_as_the_page(backend: Backend) {
    let base = "https://anzu.donghu.example.cn";
    let s = Scene::with(backend, &[("ANZU_PUBLIC_BASE_URL", base)]).await;
    let code = s.property.str("registration_code");
    let url = format!("{base}/r/{code}");
    let plaque = s
        .app
        .get(&format!("/public/v1/ratings/{code}/plaque.svg"), None)
        .await
        .expect(200)
        .text();
    // The plaque draws exactly the code of the page's address.
    let qr = qrcode::QrCode::new(url.as_bytes()).unwrap();
    let drawn = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let path = &drawn[drawn.find("<path").unwrap()..];
    assert!(
        plaque.contains(&path[..path.find("/>").unwrap()]),
        "the plaque's QR code is the page's address"
    );

    // Read back at 3 pixels a module (the code then spans about 100 pixels, as in a photo of a door), with noise.
    let width = qr.width();
    let colors = qr.to_colors();
    let (scale, quiet) = (3, 4);
    let side = (width + 2 * quiet) * scale;
    let image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        let (mx, my) = (
            (x / scale) as isize - quiet as isize,
            (y / scale) as isize - quiet as isize,
        );
        let dark = mx >= 0
            && my >= 0
            && (mx as usize) < width
            && (my as usize) < width
            && colors[my as usize * width + mx as usize] == qrcode::Color::Dark;
        let noise = ((x * 31 + y * 17) % 40) as u8;
        if dark { 30 + noise } else { 225 - noise }
    });
    let mut image = image;
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one code found");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, url);

    let old = qrcode::QrCode::new(format!("{base}/public/v1/ratings/{code}").as_bytes()).unwrap();
    assert!(
        qr.width() <= old.width(),
        "{} modules a side, against {} for the JSON's address",
        qr.width(),
        old.width()
    );
}

backend_tests!(
    the_public_page_shows_the_rating_in_words,
    the_public_page_is_rate_limited_like_the_json,
    a_changed_rating_shows_at_once,
    the_plaque_qr_code_reads_back_as_the_page,
);
