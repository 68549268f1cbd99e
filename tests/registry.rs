//! The register: properties, units and tenant declarations, with identity numbers protected.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use anzu::error::ApiError;
use common::scene::date;
use common::{Backend, JsonExt, Session, TestApp, resident_id, small_jpeg};
use serde_json::{Value, json};

fn today() -> chrono::NaiveDate {
    anzu::ids::today()
}

async fn registration_codes_are_sequential_per_village_even_in_parallel(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let first = app.property(&landlord, &v.id).await;
    assert_eq!(first["registration_code"], format!("{}-000001", v.code));
    assert_eq!(first["status"], "registered");
    assert_eq!(first["owner_id"], landlord.user["id"]);
    for key in [
        "id",
        "registration_code",
        "owner_id",
        "village_id",
        "grid_id",
        "name",
        "address",
        "kind",
        "floors",
        "floor_area_m2",
        "mixed_use_residence",
        "status",
        "stars",
        "score",
        "rating_valid_until",
        "active_tenants",
        "capacity",
        "created_at",
        "updated_at",
        "version",
    ] {
        assert!(first.get(key).is_some(), "property lacks {key}");
    }

    let creations = (0..16).map(|_| app.property(&landlord, &v.id));
    let created = futures_util::future::join_all(creations).await;
    let mut codes: Vec<String> = created.iter().map(|p| p.str("registration_code").to_owned()).collect();
    codes.sort();
    let expected: Vec<String> = (2..=17).map(|n| format!("{}-{n:06}", v.code)).collect();
    assert_eq!(codes, expected, "no gaps, no repeats");

    // Another village counts from one.
    let other = app.village(&v.admin).await;
    let other_landlord = app.user(&v.admin, "landlord", other["id"].as_str()).await;
    let p = app.property(&other_landlord, other.id()).await;
    assert_eq!(p["registration_code"], format!("{}-000001", other.str("code")));
}

async fn only_active_landlords_and_admins_register_properties(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let pending = app.registered_landlord(&v.id).await;
    let body = json!({"name": "A", "address": "B", "village_id": v.id, "kind": "factory", "floors": 2,
                      "floor_area_m2": 300.0, "mixed_use_residence": true});
    let refused = app
        .post("/api/v1/properties", Some(&pending.token), body.clone())
        .await
        .problem(403);
    assert!(refused.str("type").ends_with("membership-inactive"));

    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
    app.post("/api/v1/properties", Some(&inspector.token), body.clone())
        .await
        .problem(403);

    let missing_owner = app.post("/api/v1/properties", Some(&v.admin.token), body.clone()).await;
    assert_eq!(missing_owner.error_fields(), vec!["owner_id"]);
    missing_owner.problem(422);
    let mut for_landlord = body.clone();
    for_landlord["owner_id"] = json!(pending.id());
    let made = app
        .post("/api/v1/properties", Some(&v.admin.token), for_landlord)
        .await
        .expect(201)
        .body;
    assert_eq!(made["owner_id"], pending.user["id"]);
    assert_eq!(made["mixed_use_residence"], true);

    let bad =
        json!({"name": "", "address": "B", "village_id": v.id, "kind": "castle", "floors": 0, "floor_area_m2": -1.0});
    let answer = app.post("/api/v1/properties", Some(&v.admin.token), bad).await;
    assert_eq!(
        answer.error_fields(),
        vec!["floor_area_m2", "floors", "kind", "name"],
        "an unknown kind does not hide the other bad fields"
    );
    let bad = json!({"name": "", "address": "B", "village_id": v.id, "kind": "shop", "floors": 0, "floor_area_m2": -1.0, "owner_id": pending.id()});
    let answer = app.post("/api/v1/properties", Some(&v.admin.token), bad).await;
    assert_eq!(answer.error_fields(), vec!["floor_area_m2", "floors", "name"]);
    answer.problem(422);

    let grid_elsewhere = {
        let other = app.village(&v.admin).await;
        app.post(
            &format!("/api/v1/villages/{}/grids", other.id()),
            Some(&v.admin.token),
            json!({"name": "G", "code": "G1"}),
        )
        .await
        .expect(201)
        .body
    };
    let mut wrong_grid = body.clone();
    wrong_grid["owner_id"] = json!(pending.id());
    wrong_grid["grid_id"] = grid_elsewhere["id"].clone();
    let answer = app.post("/api/v1/properties", Some(&v.admin.token), wrong_grid).await;
    assert_eq!(answer.error_fields(), vec!["grid_id"]);
    answer.problem(422);
    assert_eq!(app.count("properties"), 1);
}

async fn property_changes_refuse_mass_assignment_and_stale_versions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let other = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let path = format!("/api/v1/properties/{}", property.id());

    for (field, value) in [
        ("status", json!("rated")),
        ("stars", json!(5)),
        ("registration_code", json!("X-1")),
        ("score", json!(100)),
    ] {
        let answer = app.patch(&path, Some(&landlord.token), json!({ field: value })).await;
        assert_eq!(answer.error_fields(), vec![field.to_owned()]);
        answer.problem(422);
    }
    let answer = app
        .patch(&path, Some(&landlord.token), json!({"owner_id": other.id()}))
        .await;
    assert_eq!(answer.error_fields(), vec!["owner_id"]);
    answer.problem(422);

    let changed = app
        .patch(&path, Some(&landlord.token), json!({"name": "新名字", "floors": 6}))
        .await
        .expect(200);
    assert_eq!(changed.body["name"], "新名字");
    assert_eq!(changed.body["floors"], 6);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.header("etag").as_deref(), Some("\"2\""));
    let stale = app
        .call(
            "PATCH",
            &path,
            Some(&landlord.token),
            &[("If-Match", "\"1\"")],
            Some(&json!({"name": "x"})),
        )
        .await;
    stale.problem(412);
    app.call(
        "PATCH",
        &path,
        Some(&landlord.token),
        &[("If-Match", "\"2\"")],
        Some(&json!({"name": "y"})),
    )
    .await
    .expect(200);

    app.patch(&path, Some(&other.token), json!({"name": "mine now"}))
        .await
        .problem(404);
    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
    app.patch(&path, Some(&inspector.token), json!({"name": "x"}))
        .await
        .problem(403);
    let moved = app
        .patch(&path, Some(&v.admin.token), json!({"owner_id": other.id()}))
        .await
        .expect(200);
    assert_eq!(moved.body["owner_id"], other.user["id"]);
    app.get(&path, Some(&landlord.token)).await.problem(404);
}

async fn units_follow_the_area_rule_and_feed_capacity(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let pid = property.id();
    let room = app.unit(&landlord, pid, "201", 12.0).await;
    assert_eq!(room["max_occupants"], 2, "floor(12 / 5)");
    assert_eq!(room["overcrowded"], false);
    let tiny = app.unit(&landlord, pid, "202", 3.0).await;
    assert_eq!(tiny["max_occupants"], 1, "at least one");
    let dorm = app
        .post(
            &format!("/api/v1/properties/{pid}/units"),
            Some(&landlord.token),
            json!({"label": "D1", "floor": 1, "area_m2": 40.0, "kind": "dormitory", "max_occupants": 6}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(dorm["max_occupants"], 6);
    let property_now = app
        .get(&format!("/api/v1/properties/{pid}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(property_now["capacity"], 9);

    app.post(
        &format!("/api/v1/properties/{pid}/units"),
        Some(&landlord.token),
        json!({"label": "201", "floor": 2, "area_m2": 10.0, "kind": "room"}),
    )
    .await
    .problem(409);
    let bigger = app
        .patch(
            &format!("/api/v1/units/{}", room.id()),
            Some(&landlord.token),
            json!({"area_m2": 26.0}),
        )
        .await
        .expect(200);
    assert_eq!(bigger.body["max_occupants"], 5);
    let property_now = app
        .get(&format!("/api/v1/properties/{pid}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(property_now["capacity"], 12);

    let listed = app
        .get(&format!("/api/v1/properties/{pid}/units"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    let labels: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.str("label"))
        .collect();
    assert_eq!(labels, vec!["201", "202", "D1"]);

    let pending = app.registered_landlord(&v.id).await;
    let mut body =
        json!({"name": "A", "address": "B", "village_id": v.id, "kind": "shop", "floors": 1, "floor_area_m2": 50.0});
    body["owner_id"] = json!(pending.id());
    let pending_property = app
        .post("/api/v1/properties", Some(&v.admin.token), body)
        .await
        .expect(201)
        .body;
    let refused = app
        .post(
            &format!("/api/v1/properties/{}/units", pending_property.id()),
            Some(&pending.token),
            json!({"label": "1", "floor": 1, "area_m2": 10.0, "kind": "room"}),
        )
        .await
        .problem(403);
    assert!(refused.str("type").ends_with("membership-inactive"));
}

async fn resident_ids_are_checked_fully(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 30.0).await;
    let uid = unit.id();
    let today = date(0);

    let valid = resident_id("19900307", 123);
    let wrong_check = {
        let mut s = valid.clone();
        let last = s.pop().unwrap();
        s.push(if last == '0' { '1' } else { '0' });
        s
    };
    let feb_31 = {
        let first17 = "35058219900231123";
        format!(
            "{first17}{}",
            anzu::registry::identity::check_character(first17).unwrap()
        )
    };
    let future = {
        let first17 = format!(
            "350582{}123",
            (today_date() + chrono::Duration::days(400)).format("%Y%m%d")
        );
        format!(
            "{first17}{}",
            anzu::registry::identity::check_character(&first17).unwrap()
        )
    };
    let cases = [
        (wrong_check.clone(), "checksum"),
        (feb_31, "birth_date"),
        (future, "birth_date"),
        (valid[..17].to_owned(), "length"),
        (format!("{valid}1"), "length"),
        (format!("99{}", &valid[2..]), "region"),
    ];
    for (number, code) in cases {
        let answer = app.declare(&landlord, uid, &number, &today).await;
        assert_eq!(answer.error_fields(), vec!["tenant.id_number"], "{code}");
        assert_eq!(answer.body["errors"][0]["code"], code);
        assert!(!answer.body.to_string().contains(&number), "the number is never echoed");
        answer.problem(422);
    }
    assert_eq!(app.count("tenancies"), 0);

    let declared = app.declare(&landlord, uid, &valid, &today).await.expect(201).body;
    assert_eq!(declared["tenant"]["gender"], "male", "sequence 123 is odd");
    assert_eq!(declared["tenant"]["birth_year"], 1990);
    assert!(declared["tenant"].get("birth_date").is_none());
    assert_eq!(
        declared["tenant"]["id_number_masked"],
        format!("{}*************{}", &valid[..3], &valid[16..])
    );
    assert_eq!(declared["tenant"]["phone_masked"], "139******78");
    assert_eq!(declared["tenant"]["id_type"], "resident_id");
    assert!(declared["tenant"].get("id_number").is_none());
    assert_eq!(declared["late"], false);

    // A lower-case x is accepted and kept upper-case.
    let with_x = (0..1000)
        .map(|seq| resident_id("19851120", seq))
        .find(|n| n.ends_with('X'))
        .unwrap();
    let lower = with_x.to_lowercase();
    let answer = app.declare(&landlord, uid, &lower, &today).await.expect(201).body;
    assert_eq!(
        answer["tenant"]["gender"],
        if with_x.as_bytes()[16] % 2 == 1 {
            "male"
        } else {
            "female"
        }
    );
    let identity = app
        .get(
            &format!("/api/v1/tenancies/{}/identity", answer.id()),
            Some(&v.admin.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(identity["id_number"], with_x);

    let passport = app
        .post(&format!("/api/v1/units/{uid}/tenancies"), Some(&landlord.token),
              json!({"tenant": {"full_name": "John Smith", "id_type": "passport", "id_number": "e1234567"}, "move_in_date": today}))
        .await
        .expect(201)
        .body;
    assert_eq!(passport["tenant"]["gender"], Value::Null);
    assert_eq!(passport["tenant"]["birth_year"], Value::Null);
    assert_eq!(passport["tenant"]["id_number_masked"], "******67");
    let short = app
        .post(&format!("/api/v1/units/{uid}/tenancies"), Some(&landlord.token),
              json!({"tenant": {"full_name": "", "id_type": "passport", "id_number": "E12", "phone": "555"}, "move_in_date": today}))
        .await;
    assert_eq!(short.error_fields(), vec!["tenant.full_name", "tenant.phone"]);
    short.problem(422);
}

fn today_date() -> chrono::NaiveDate {
    today()
}

async fn declarations_flag_lateness_duplicates_and_overcrowding_but_never_refuse(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let pid = property.id();
    let small = app.unit(&landlord, pid, "301", 6.0).await;
    let other = app.unit(&landlord, pid, "302", 20.0).await;
    let (small_id, other_id) = (small.id(), other.id());

    let on_time = app
        .declare(&landlord, small_id, &resident_id("19950101", 2), &date(-3))
        .await
        .expect(201)
        .body;
    assert_eq!(on_time["late"], false, "three days is within the deadline");
    let late = app
        .declare(&landlord, small_id, &resident_id("19950101", 4), &date(-4))
        .await
        .expect(201)
        .body;
    assert_eq!(late["late"], true);
    let unit_now = app
        .get(&format!("/api/v1/units/{small_id}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (unit_now["active_tenants"].as_i64(), unit_now["overcrowded"].as_bool()),
        (Some(2), Some(true)),
        "one person fits in 6 m²"
    );

    let ahead = app
        .declare(&landlord, small_id, &resident_id("19950101", 6), &date(31))
        .await;
    assert_eq!(ahead.error_fields(), vec!["move_in_date"]);
    ahead.problem(422);
    app.declare(&landlord, small_id, &resident_id("19950101", 6), &date(30))
        .await
        .expect(201);

    let same_person = resident_id("19950101", 2);
    app.declare(&landlord, small_id, &same_person, &date(0))
        .await
        .problem(409);
    let elsewhere = app
        .declare(&landlord, other_id, &same_person, &date(0))
        .await
        .expect(201)
        .body;
    assert!(
        elsewhere.get("duplicate_elsewhere").is_none(),
        "a landlord never learns where else a number lives"
    );
    let first_again = app
        .get(&format!("/api/v1/tenancies/{}", on_time.id()), Some(&v.admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(first_again["duplicate_elsewhere"], true);

    let late_list = app
        .get(
            &format!("/api/v1/tenancies?late=true&property_id={pid}"),
            Some(&landlord.token),
        )
        .await
        .expect(200)
        .body;
    let ids: Vec<&Value> = late_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, vec![&late["id"]]);
    let in_other = app
        .get(&format!("/api/v1/tenancies?unit_id={other_id}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(in_other.array("items").len(), 1);
    let property_now = app
        .get(&format!("/api/v1/properties/{pid}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(property_now["active_tenants"], 4);

    // Once the person has moved out of the other unit, neither tenancy is a duplicate any more.
    let elsewhere_path = format!("/api/v1/tenancies/{}", elsewhere.id());
    app.post(
        &format!("{elsewhere_path}/move-out"),
        Some(&landlord.token),
        json!({"move_out_date": date(0)}),
    )
    .await
    .expect(200);
    for path in [format!("/api/v1/tenancies/{}", on_time.id()), elsewhere_path] {
        let tenancy = app.get(&path, Some(&v.admin.token)).await.expect(200).body;
        assert_eq!(tenancy["duplicate_elsewhere"], false, "{path}");
    }
}

async fn move_outs_end_tenancies_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 20.0).await;
    let tenancy = app
        .declare(&landlord, unit.id(), &resident_id("19800808", 11), &date(-10))
        .await
        .expect(201)
        .body;
    let path = format!("/api/v1/tenancies/{}/move-out", tenancy.id());

    let early = app
        .post(&path, Some(&landlord.token), json!({"move_out_date": date(-11)}))
        .await;
    assert_eq!(early.error_fields(), vec!["move_out_date"]);
    early.problem(422);
    let out = app
        .post(&path, Some(&landlord.token), json!({"move_out_date": date(0)}))
        .await
        .expect(200)
        .body;
    assert_eq!(out["move_out_date"], date(0));
    app.post(&path, Some(&landlord.token), json!({"move_out_date": date(0)}))
        .await
        .problem(409);
    let unit_now = app
        .get(&format!("/api/v1/units/{}", unit.id()), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(unit_now["active_tenants"], 0);
    let active = app
        .get("/api/v1/tenancies?active=true", Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert!(active.array("items").is_empty());
    let ended = app
        .get("/api/v1/tenancies?active=false", Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(ended.array("items").len(), 1);
    // The same person may move back in.
    app.declare(&landlord, unit.id(), &resident_id("19800808", 11), &date(0))
        .await
        .expect(201);
}

async fn membership_decides_who_may_declare(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 50.0).await;
    let uid = unit.id();
    let membership = format!("/api/v1/users/{}/membership", landlord.id());

    app.post(
        &membership,
        Some(&v.admin.token),
        json!({"action": "suspend", "reason": "late fees"}),
    )
    .await
    .expect(200);
    let declared = app
        .declare(&landlord, uid, &resident_id("20000101", 21), &date(0))
        .await
        .expect(201)
        .body;
    app.post(
        &format!("/api/v1/tenancies/{}/move-out", declared.id()),
        Some(&landlord.token),
        json!({"move_out_date": date(0)}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/properties/{}/units", property.id()),
        Some(&landlord.token),
        json!({"label": "9", "floor": 1, "area_m2": 9.0, "kind": "room"}),
    )
    .await
    .problem(403);
    // A suspended landlord still corrects their property and units.
    let property_path = format!("/api/v1/properties/{}", property.id());
    let unit_path = format!("/api/v1/units/{uid}");
    app.patch(&property_path, Some(&landlord.token), json!({"name": "更正后的名称"}))
        .await
        .expect(200);
    app.patch(&unit_path, Some(&landlord.token), json!({"label": "102"}))
        .await
        .expect(200);

    app.post(
        &membership,
        Some(&v.admin.token),
        json!({"action": "expel", "reason": "fraud"}),
    )
    .await
    .expect(200);
    let refused = app
        .declare(&landlord, uid, &resident_id("20000101", 23), &date(0))
        .await
        .problem(403);
    assert!(refused.str("type").ends_with("membership-inactive"));
    // An expelled landlord reads their records but changes nothing.
    app.get(&property_path, Some(&landlord.token)).await.expect(200);
    for (path, body) in [
        (&property_path, json!({"name": "被开除后的修改"})),
        (&unit_path, json!({"label": "103"})),
    ] {
        let refused = app.patch(path, Some(&landlord.token), body).await.problem(403);
        assert!(refused.str("type").ends_with("membership-inactive"));
    }
    let unit_now = app.get(&unit_path, Some(&v.admin.token)).await.expect(200).body;
    assert_eq!(unit_now["label"], "102");
    // An admin still records who lives there.
    app.declare(&v.admin, uid, &resident_id("20000101", 23), &date(0))
        .await
        .expect(201);
}

async fn identity_numbers_never_leave_except_through_the_audited_endpoint(backend: Backend) {
    common::capture_logs();
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 50.0).await;
    let number = resident_id("19770615", 357);

    let mut answers = Vec::new();
    let declared = app.declare(&landlord, unit.id(), &number, &date(0)).await.expect(201);
    let tid = declared.body.id().to_owned();
    answers.push(declared.bytes);
    answers.push(
        app.declare(&landlord, unit.id(), &number, &date(0))
            .await
            .problem(409)
            .to_string()
            .into_bytes(),
    );
    for (path, token) in [
        (format!("/api/v1/tenancies/{tid}"), &landlord.token),
        ("/api/v1/tenancies".to_owned(), &auditor.token),
        (format!("/api/v1/audit-events?entity_id={tid}"), &v.admin.token),
        (format!("/api/v1/tenancies/{tid}/identity"), &landlord.token),
    ] {
        answers.push(app.get(&path, Some(token)).await.bytes);
    }
    for answer in &answers {
        assert!(
            !String::from_utf8_lossy(answer).contains(&number),
            "an answer holds the number"
        );
    }

    let identity = app
        .get(&format!("/api/v1/tenancies/{tid}/identity"), Some(&auditor.token))
        .await
        .expect(200);
    assert_eq!(
        identity.body,
        json!({"id_type": "resident_id", "id_number": number, "birth_date": "1977-06-15"})
    );
    let events = app
        .get(&format!("/api/v1/audit-events?entity_id={tid}"), Some(&auditor.token))
        .await
        .expect(200)
        .body;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.str("action"))
        .collect();
    assert_eq!(actions, vec!["tenancy.declared", "tenancy.identity_read"]);
    assert_eq!(events["items"][1]["actor_id"], auditor.user["id"]);

    let stored = stored_text(&app);
    assert!(
        stored.contains(&format!("{}*************{}", &number[..3], &number[16..])),
        "the dump is real: it holds the masked number"
    );
    assert!(!stored.contains(&number), "the database holds the number in clear");
    assert!(!stored.contains(&number[4..14]), "nor its middle digits");
    let logs = common::captured_logs();
    assert!(
        logs.contains(&format!("/api/v1/tenancies/{tid}/identity")),
        "the log is captured"
    );
    assert!(!logs.contains(&number), "a log line holds the number");
}

/// Every tenancy and audit row as text, and on SQLite the database files themselves.
fn stored_text(app: &TestApp) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        dump: String,
    }
    let mut conn = app.db.get().unwrap();
    let sql = match app.backend {
        Backend::Postgres => {
            "SELECT string_agg(t::text, '|') AS dump FROM (SELECT * FROM tenancies) t UNION ALL SELECT string_agg(a::text, '|') FROM audit_events a"
        }
        Backend::Sqlite => {
            "SELECT group_concat(id_number_encrypted || id_lookup || id_number_masked || full_name, '|') AS dump FROM tenancies UNION ALL SELECT group_concat(detail, '|') FROM audit_events"
        }
    };
    let mut text: String = diesel::sql_query(sql)
        .load::<Dump>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|d| d.dump)
        .collect();
    if app.backend == Backend::Sqlite {
        let url = app.state.settings.database_url.clone();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{url}{suffix}")) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    text
}

async fn a_flaky_phone_declares_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 50.0).await;
    let body = json!({"tenant": {"full_name": "王五", "id_type": "resident_id", "id_number": resident_id("19880808", 88)}, "move_in_date": date(0)});
    let path = format!("/api/v1/units/{}/tenancies", unit.id());
    let key = [("Idempotency-Key", "declare-7f3a")];
    let first = app
        .call("POST", &path, Some(&landlord.token), &key, Some(&body))
        .await
        .expect(201);
    let retry = app
        .call("POST", &path, Some(&landlord.token), &key, Some(&body))
        .await
        .expect(201);
    assert_eq!(first.body, retry.body);
    assert_eq!(app.count("tenancies"), 1);
}

async fn search_and_filters(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let grid = app
        .post(
            &format!("/api/v1/villages/{}/grids", v.id),
            Some(&v.admin.token),
            json!({"name": "一组", "code": "G1"}),
        )
        .await
        .expect(201)
        .body;
    let plain = app.property(&landlord, &v.id).await;
    let gridded = app
        .post("/api/v1/properties", Some(&landlord.token),
              json!({"name": "Sunrise Dorm 100%", "address": "Factory Road 7", "village_id": v.id, "grid_id": grid["id"], "kind": "factory", "floors": 3, "floor_area_m2": 900.0}))
        .await
        .expect(201)
        .body;
    let ids = |body: Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.id().to_owned())
            .collect()
    };
    let token = Some(landlord.token.as_str());
    assert_eq!(
        ids(app.get("/api/v1/properties?q=sunrise", token).await.expect(200).body),
        vec![gridded.id()]
    );
    assert_eq!(
        ids(app.get("/api/v1/properties?q=100%25", token).await.expect(200).body),
        vec![gridded.id()]
    );
    assert_eq!(
        ids(app.get("/api/v1/properties?q=%25", token).await.expect(200).body).len(),
        1,
        "% is a character, not a wildcard"
    );
    assert_eq!(
        ids(app
            .get(&format!("/api/v1/properties?q={}", common::encode("中路")), token)
            .await
            .expect(200)
            .body),
        vec![plain.id()]
    );
    assert_eq!(
        ids(app
            .get(&format!("/api/v1/properties?grid_id={}", grid.id()), token)
            .await
            .expect(200)
            .body)
        .len(),
        1
    );
    assert_eq!(
        ids(app
            .get("/api/v1/properties?status=registered", token)
            .await
            .expect(200)
            .body)
        .len(),
        2
    );
    assert_eq!(
        ids(app.get("/api/v1/properties?status=rated", token).await.expect(200).body).len(),
        0
    );
    app.get("/api/v1/properties?status=gone", token).await.problem(400);
}

/// Every registry endpoint, tried by every role and by a landlord who does not own the property.
async fn authorization_matrix(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let owner = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let stranger = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let other_village = app.village(&v.admin).await;
    let far_auditor = app.user(&v.admin, "auditor", other_village["id"].as_str()).await;
    let property = app.property(&owner, &v.id).await;
    let pid = property.id().to_owned();
    let unit = app.unit(&owner, &pid, "101", 50.0).await;
    let uid = unit.id().to_owned();
    let tenancy = app
        .declare(&owner, &uid, &resident_id("19900101", 1), &date(0))
        .await
        .expect(201)
        .body;
    let tid = tenancy.id().to_owned();
    let grid = app
        .post(
            &format!("/api/v1/villages/{}/grids", v.id),
            Some(&v.admin.token),
            json!({"name": "一组", "code": "G1"}),
        )
        .await
        .expect(201)
        .body;
    let gid = grid.id().to_owned();
    // Photo evidence: an inspection failing one item, its order, and a photo of the item.
    let inspection = app
        .inspect(&inspector, &pid, "apartment", &date(0), &["MGT-01"])
        .await
        .expect(201)
        .body;
    let iid = inspection.id().to_owned();
    let rid = inspection["rectifications"][0].id().to_owned();
    let item_photos = format!("/api/v1/inspections/{iid}/items/MGT-01/photos");
    let order_photos = format!("/api/v1/rectifications/{rid}/photos");
    let photo = app
        .upload_photo(
            Some(&inspector.token),
            &item_photos,
            ("a.jpg", "image/jpeg"),
            &small_jpeg(16, 16),
        )
        .await
        .expect(201)
        .body;
    let photo_id = photo.id().to_owned();
    // Two inspections: one already appealed (to read and decide), one to appeal.
    let mut inspections = Vec::new();
    for _ in 0..2 {
        let answer = app.inspect(&inspector, &pid, "apartment", &date(0), &[]).await;
        inspections.push(answer.expect(201).body.id().to_owned());
    }
    let (appealed, to_appeal) = (&inspections[0], &inspections[1]);
    let aid = app
        .post(
            &format!("/api/v1/inspections/{appealed}/appeals"),
            Some(&owner.token),
            json!({"reason": "检查有误"}),
        )
        .await
        .expect(201)
        .body
        .id()
        .to_owned();

    let who: [(&str, &Session); 6] = [
        ("admin", &v.admin),
        ("owner", &owner),
        ("stranger", &stranger),
        ("inspector", &inspector),
        ("auditor", &auditor),
        ("far_auditor", &far_auditor),
    ];
    // (method, path, body, expected status for admin, owner, stranger, inspector, auditor, far auditor)
    let seq = std::sync::atomic::AtomicU32::new(100);
    let next_id = || resident_id("19910101", seq.fetch_add(2, std::sync::atomic::Ordering::Relaxed));
    type Case = (&'static str, String, Option<fn(&dyn Fn() -> String) -> Value>, [u16; 6]);
    let cases: Vec<Case> = vec![
        (
            "GET",
            format!("/api/v1/properties/{pid}"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "PATCH",
            format!("/api/v1/properties/{pid}"),
            Some(|_| json!({"address": "新地址"})),
            [200, 200, 404, 403, 403, 404],
        ),
        (
            "GET",
            format!("/api/v1/properties/{pid}/units"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "POST",
            format!("/api/v1/properties/{pid}/units"),
            Some(
                |_| json!({"label": uuid::Uuid::now_v7().to_string()[..30].to_owned(), "floor": 1, "area_m2": 10.0, "kind": "room"}),
            ),
            [201, 201, 404, 403, 403, 404],
        ),
        (
            "GET",
            format!("/api/v1/units/{uid}"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "PATCH",
            format!("/api/v1/units/{uid}"),
            Some(|_| json!({"floor": 3})),
            [200, 200, 404, 403, 403, 404],
        ),
        (
            "POST",
            format!("/api/v1/units/{uid}/tenancies"),
            Some(
                |id| json!({"tenant": {"full_name": "租客", "id_type": "resident_id", "id_number": id()}, "move_in_date": anzu::ids::today().to_string()}),
            ),
            [201, 201, 404, 403, 403, 404],
        ),
        (
            "GET",
            format!("/api/v1/tenancies/{tid}"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "GET",
            format!("/api/v1/tenancies/{tid}/identity"),
            None,
            [200, 403, 404, 403, 200, 404],
        ),
        (
            "POST",
            format!("/api/v1/tenancies/{tid}/move-out"),
            Some(|_| json!({"move_out_date": "2000-01-01"})),
            [422, 422, 404, 403, 403, 404],
        ),
        (
            "POST",
            format!("/api/v1/inspections/{to_appeal}/appeals"),
            Some(|_| json!({"reason": "检查有误"})),
            [403, 201, 404, 403, 403, 404],
        ),
        (
            "GET",
            "/api/v1/appeals".to_owned(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            format!("/api/v1/appeals/{aid}"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "POST",
            format!("/api/v1/appeals/{aid}/decision"),
            Some(|_| json!({"decision": "rejected", "reason": "复核无误"})),
            [200, 403, 404, 403, 409, 404],
        ),
        (
            "POST",
            format!("/api/v1/properties/{pid}/rerating-requests"),
            Some(|_| json!({})),
            [403, 201, 404, 403, 403, 404],
        ),
        (
            "GET",
            format!("/api/v1/properties/{pid}/rerating-requests"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "PUT",
            format!("/api/v1/properties/{pid}/reply"),
            Some(|_| json!({"text": "已全部整改"})),
            [403, 200, 404, 403, 403, 404],
        ),
        (
            "DELETE",
            format!("/api/v1/properties/{pid}/reply"),
            None,
            [403, 204, 404, 403, 403, 404],
        ),
        (
            "GET",
            format!("/api/v1/inspections/{iid}/photos"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        ("GET", order_photos.clone(), None, [200, 200, 404, 200, 200, 404]),
        (
            "GET",
            format!("/api/v1/photos/{photo_id}"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "GET",
            format!("/api/v1/photos/{photo_id}/thumbnail"),
            None,
            [200, 200, 404, 200, 200, 404],
        ),
        (
            "GET",
            format!("/api/v1/inspections/plan?village_id={}", v.id),
            None,
            [200, 403, 403, 200, 200, 404],
        ),
        (
            "GET",
            format!("/api/v1/grids/{gid}/patrol-plan"),
            None,
            [200, 403, 403, 200, 200, 404],
        ),
    ];
    for (method, path, body, expected) in cases {
        for ((name, session), status) in who.iter().zip(expected) {
            let body = body.map(|make| make(&next_id));
            let answer = app.call(method, &path, Some(&session.token), &[], body.as_ref()).await;
            assert_eq!(answer.status, status, "{name} {method} {path}: {}", answer.body);
        }
        let body = body.map(|make| make(&next_id));
        let anonymous = app.call(method, &path, None, &[], body.as_ref()).await;
        assert_eq!(anonymous.status, 401, "no token {method} {path}: {}", anonymous.body);
    }

    // Lists only ever hold what the caller may see.
    for (session, expected) in [
        (&stranger, 0),
        (&far_auditor, 0),
        (&owner, 1),
        (&inspector, 1),
        (&auditor, 1),
        (&v.admin, 1),
    ] {
        let list = app
            .get("/api/v1/properties", Some(&session.token))
            .await
            .expect(200)
            .body;
        assert_eq!(list.array("items").len(), expected);
        let tenancies = app
            .get("/api/v1/tenancies?active=true", Some(&session.token))
            .await
            .expect(200)
            .body;
        assert_eq!(tenancies.array("items").is_empty(), expected == 0);
    }
    app.get("/api/v1/audit-events", Some(&owner.token)).await.problem(403);
    app.get("/api/v1/audit-events", Some(&inspector.token))
        .await
        .problem(403);
    let far_events = app
        .get("/api/v1/audit-events", Some(&far_auditor.token))
        .await
        .expect(200)
        .body;
    assert!(
        far_events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["entity_id"] != json!(pid))
    );
    let near_events = app
        .get(
            &format!("/api/v1/audit-events?entity_type=property&entity_id={pid}"),
            Some(&auditor.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(near_events["items"][0]["action"], "property.registered");

    // Photo uploads (a multipart body): staff photograph failed items, the owner the fix.
    // On a property of their own: the rows above settle the first property's order.
    let fresh = app.property(&owner, &v.id).await;
    let inspection = app
        .inspect(&inspector, fresh.id(), "apartment", &date(0), &["MGT-01"])
        .await
        .expect(201)
        .body;
    let item_photos = format!("/api/v1/inspections/{}/items/MGT-01/photos", inspection.id());
    let order_photos = format!("/api/v1/rectifications/{}/photos", inspection["rectifications"][0].id());
    for (path, expected) in [
        (&item_photos, [201, 403, 404, 201, 201, 404]),
        (&order_photos, [403, 201, 404, 403, 403, 404]),
    ] {
        for ((name, session), status) in who.iter().zip(expected) {
            let answer = app
                .upload_photo(Some(&session.token), path, ("a.jpg", "image/jpeg"), &small_jpeg(16, 16))
                .await;
            assert_eq!(answer.status, status, "{name} POST {path}: {}", answer.body);
        }
        app.upload_photo(None, path, ("a.jpg", "image/jpeg"), &small_jpeg(16, 16))
            .await
            .problem(401);
    }
    app.get(&format!("/api/v1/photos/{photo_id}"), None).await.problem(401);
}

/// A ciphertext decrypts only in the row and column it was made for, so copying one tenant's encrypted
/// number onto another's row reveals nothing; values in the old row-less format stay readable until start-up
/// re-encrypts them.
async fn identity_ciphertexts_are_bound_to_their_row(backend: Backend) {
    use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
    use anzu::db::schema::tenancies;
    use base64::Engine;
    use diesel::prelude::*;

    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 50.0).await;
    let unit_id = unit.id();
    let (first_number, second_number) = (resident_id("19770615", 357), resident_id("19880203", 124));
    let mut ids = Vec::new();
    for number in [&first_number, &second_number] {
        let declared = app.declare(&landlord, unit_id, number, &date(0)).await.expect(201);
        ids.push(declared.body.id().to_owned());
    }
    let (first, second) = (ids[0].clone(), ids[1].clone());
    let identity_path = format!("/api/v1/tenancies/{second}/identity");
    let stored = |id: &str| -> String {
        let id = id.to_owned();
        app.db
            .write_blocking(move |conn| {
                Ok(tenancies::table
                    .find(id)
                    .select(tenancies::id_number_encrypted)
                    .first::<String>(conn)?)
            })
            .unwrap()
    };
    let overwrite = |id: &str, value: String| {
        let id = id.to_owned();
        app.db
            .write_blocking(move |conn| {
                diesel::update(tenancies::table.find(id))
                    .set(tenancies::id_number_encrypted.eq(value))
                    .execute(conn)?;
                Ok(())
            })
            .unwrap()
    };
    let own_ciphertext = stored(&second);
    assert!(own_ciphertext.starts_with("v2:"), "{own_ciphertext}");

    // The swap: the first tenant's ciphertext on the second tenant's row.
    overwrite(&second, stored(&first));
    let swapped = app.get(&identity_path, Some(&auditor.token)).await;
    assert!(
        !String::from_utf8_lossy(&swapped.bytes).contains(&first_number),
        "a copied ciphertext decrypted in another row"
    );
    swapped.problem(500);

    // A value written by an older version (v1: the same associated data for every row) still reads ...
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(common::DATA_KEY)
        .unwrap()
        .try_into()
        .unwrap();
    let nonce = Nonce::<aes_gcm::Aes256Gcm>::generate();
    let sealed = aes_gcm::Aes256Gcm::new(&key.into())
        .encrypt(
            &nonce,
            Payload {
                msg: second_number.as_bytes(),
                aad: b"anzu-identity-v1",
            },
        )
        .unwrap();
    let legacy = format!(
        "v1:{}",
        base64::engine::general_purpose::STANDARD.encode([nonce.as_slice(), &sealed].concat())
    );
    overwrite(&second, legacy.clone());
    let identity = app.get(&identity_path, Some(&auditor.token)).await.expect(200);
    assert_eq!(identity.body["id_number"], second_number);
    // ... until start-up re-encrypts it bound to its row.
    anzu::startup::prepare_database(&app.db, &app.state.settings).unwrap();
    let upgraded = stored(&second);
    assert!(upgraded.starts_with("v2:") && upgraded != legacy, "{upgraded}");
    let identity = app.get(&identity_path, Some(&auditor.token)).await.expect(200);
    assert_eq!(identity.body["id_number"], second_number);
    assert!(stored(&first).starts_with("v2:"));
}

/// Two identical declarations at the same moment make one tenancy and one 409, also from two server processes
/// on one PostgreSQL database; the counters stay equal to the rows.
async fn simultaneous_identical_declarations_make_one_tenancy(backend: Backend) {
    const PAIRS: u32 = 20;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "dorm", 500.0).await;
    let unit_id = unit.id();
    // On PostgreSQL the second of each pair goes to another process; SQLite is one process's file.
    let second = match backend {
        Backend::Postgres => Some(app.spawn_process(&[]).await),
        Backend::Sqlite => None,
    };
    let second_address = second.as_ref().map_or(app.address.clone(), |p| p.address.clone());
    let path = format!("/api/v1/units/{unit_id}/tenancies");
    for seq in 0..PAIRS {
        let body = json!({
            "tenant": {"full_name": "同时", "id_type": "resident_id", "id_number": resident_id("19900101", 100 + seq)},
            "move_in_date": date(0),
        });
        let (a, b) = futures_util::future::join(
            app.call("POST", &path, Some(&landlord.token), &[], Some(&body)),
            app.call_at(&second_address, "POST", &path, Some(&landlord.token), &[], Some(&body)),
        )
        .await;
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "pair {seq}: {} / {}", a.body, b.body);
    }
    let unit = app
        .get(&format!("/api/v1/units/{unit_id}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(unit["active_tenants"], PAIRS);
    let property = app
        .get(&format!("/api/v1/properties/{}", property.id()), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(property["active_tenants"], PAIRS);
    let listed = app
        .get(
            &format!("/api/v1/tenancies?unit_id={unit_id}&limit=200"),
            Some(&landlord.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed.array("items").len() as u32, PAIRS);
}

/// Declarations arriving together — on PostgreSQL written in shared batches, one statement each — are stored
/// whole and each answered on its own: every tenancy with its counters and audit event, a person declared
/// twice at once in one unit stored once (the other 409), a unit filled by declarations in flight given its
/// week's overcrowding notice once, and each tenancy readable as declared, its identity number included.
async fn declarations_arriving_together_are_stored_whole(backend: Backend) {
    const PEOPLE: u32 = 30;
    const TWICE: u32 = 5;
    const INTO_TINY: u32 = 3;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let first = app.property(&landlord, &v.id).await;
    let second = app.property(&landlord, &v.id).await;
    let big = app.unit(&landlord, first.id(), "big", 500.0).await;
    let tiny = app.unit(&landlord, first.id(), "tiny", 6.0).await;
    let other = app.unit(&landlord, second.id(), "other", 500.0).await;
    let unit_of = |n: u32| if n.is_multiple_of(2) { big.id() } else { other.id() };
    let mut sends: Vec<(String, String)> = (0..PEOPLE)
        .chain(0..TWICE)
        .map(|n| (unit_of(n).to_owned(), resident_id("19910101", 200 + n)))
        .collect();
    sends.extend((0..INTO_TINY).map(|n| (tiny.id().to_owned(), resident_id("19920202", 300 + n))));
    let today = date(0);
    let answers = futures_util::future::join_all(
        sends
            .iter()
            .map(|(unit, number)| app.declare(&landlord, unit, number, &today)),
    )
    .await;
    let statuses = |wanted: u16| answers.iter().filter(|a| a.status == wanted).count() as u32;
    assert_eq!(
        (statuses(201), statuses(409)),
        (PEOPLE + INTO_TINY, TWICE),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );

    let active = |path: String| {
        let app = &app;
        let token = landlord.token.clone();
        async move { app.get(&path, Some(&token)).await.expect(200).body["active_tenants"].clone() }
    };
    assert_eq!(active(format!("/api/v1/units/{}", big.id())).await, PEOPLE / 2);
    assert_eq!(active(format!("/api/v1/units/{}", other.id())).await, PEOPLE / 2);
    assert_eq!(active(format!("/api/v1/units/{}", tiny.id())).await, INTO_TINY);
    assert_eq!(
        active(format!("/api/v1/properties/{}", first.id())).await,
        PEOPLE / 2 + INTO_TINY
    );
    assert_eq!(active(format!("/api/v1/properties/{}", second.id())).await, PEOPLE / 2);
    let stored = i64::from(PEOPLE + INTO_TINY);
    assert_eq!(app.count("tenancies"), stored);
    assert_eq!(app.count("audit_events WHERE action = 'tenancy.declared'"), stored);
    assert_eq!(
        app.count("notices WHERE kind = 'overcrowding'"),
        1,
        "tiny holds one person"
    );
    // Into the full unit again: its notice of the week is queued, so this one needs none (on PostgreSQL it is
    // batched too).
    let batched_before = app.declarations.stats().1;
    app.declare(&landlord, tiny.id(), &resident_id("19920202", 399), &today)
        .await
        .expect(201);
    assert_eq!(app.count("notices WHERE kind = 'overcrowding'"), 1);
    let batched_after = app.declarations.stats().1;
    assert_eq!(
        batched_after - batched_before,
        u64::from(backend == Backend::Postgres),
        "batched"
    );

    let created = answers.iter().find(|a| a.status == 201).unwrap();
    let shown = app
        .get(
            &format!("/api/v1/tenancies/{}", created.body.id()),
            Some(&landlord.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(shown["tenant"], created.body["tenant"], "stored as answered");
    assert_eq!(
        (shown["late"].as_bool(), shown["tenant"]["employer"].as_str()),
        (Some(false), Some("晋江鞋业"))
    );
    let identity = app
        .get(
            &format!("/api/v1/tenancies/{}/identity", created.body.id()),
            Some(&auditor.token),
        )
        .await
        .expect(200)
        .body;
    let declared = sends
        .iter()
        .map(|(_, number)| Value::from(number.as_str()))
        .collect::<Vec<_>>();
    assert!(declared.contains(&identity["id_number"]), "{identity}");

    // Which path the declarations took: on PostgreSQL every one by a landlord that needed no notice went into
    // a batch; SQLite has no batches (its writer commits in groups).
    let (batches, items) = app.declarations.stats();
    match backend {
        Backend::Postgres => {
            assert!(items >= u64::from(PEOPLE + TWICE), "{items} declarations batched");
            // How many share a batch depends on timing (the batcher's own test shows that they do).
            assert!(
                batches >= 1 && batches <= items,
                "{batches} batches for {items} declarations"
            );
        }
        Backend::Sqlite => assert_eq!((batches, items), (0, 0)),
    }
}

/// A batch in which one declaration cannot be stored (its unit went away between its look-up and its batch)
/// stores the others, each answered on its own; SQLite, whose writer commits in groups, has no batches.
async fn a_declaration_that_fails_its_batch_fails_alone(backend: Backend) {
    use anzu::registry::service;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 100.0).await;
    let caller = anzu::auth::Caller {
        user_id: landlord.user.id().to_owned(),
        role: anzu::auth::Role::Landlord,
        village_id: Some(v.id.clone()),
        session_id: None,
    };
    let mut conn = app.db.get().unwrap();
    let mut declaration = |seq: u32, unit_id: &str| {
        let input = serde_json::from_value(json!({
            "tenant": {"full_name": "批量", "id_type": "resident_id", "id_number": resident_id("19930303", seq)},
            "move_in_date": date(0),
        }))
        .unwrap();
        let tenant = service::prepare_tenant(&app.state.identity, input).unwrap();
        let mut destination = service::destination(&mut conn, &caller, unit.id()).unwrap();
        destination.site.unit.id = unit_id.to_owned();
        service::plain_declaration(&app.state.settings, &caller, &destination, &tenant).expect("needs no notice")
    };
    let batch = vec![
        declaration(1, unit.id()),
        declaration(2, "no-such-unit"),
        declaration(3, unit.id()),
    ];
    let outcome = service::store_declarations(&mut conn, batch);
    drop(conn);
    match backend {
        Backend::Postgres => {
            let outcome = outcome.expect("the batch as a whole");
            let statuses: Vec<_> = outcome.iter().map(|o| o.as_ref().map_err(|e| e.to_string())).collect();
            assert!(
                matches!(statuses.as_slice(), [Ok(1), Err(gone), Ok(2)] if gone == "not found"),
                "{statuses:?}"
            );
            assert_eq!(app.count("tenancies"), 2);
            assert_eq!(app.count("audit_events WHERE action = 'tenancy.declared'"), 2);
        }
        Backend::Sqlite => {
            assert!(matches!(outcome, Err(ApiError::Internal(_))), "no batches on SQLite");
            assert_eq!(app.count("tenancies"), 0);
        }
    }
    let unit_now = app
        .get(&format!("/api/v1/units/{}", unit.id()), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(unit_now["active_tenants"], app.count("tenancies"));
}

backend_tests!(
    a_declaration_that_fails_its_batch_fails_alone,
    declarations_arriving_together_are_stored_whole,
    simultaneous_identical_declarations_make_one_tenancy,
    identity_ciphertexts_are_bound_to_their_row,
    registration_codes_are_sequential_per_village_even_in_parallel,
    only_active_landlords_and_admins_register_properties,
    property_changes_refuse_mass_assignment_and_stale_versions,
    units_follow_the_area_rule_and_feed_capacity,
    resident_ids_are_checked_fully,
    declarations_flag_lateness_duplicates_and_overcrowding_but_never_refuse,
    move_outs_end_tenancies_once,
    membership_decides_who_may_declare,
    identity_numbers_never_leave_except_through_the_audited_endpoint,
    a_flaky_phone_declares_once,
    search_and_filters,
    authorization_matrix,
);

/// What each role sees of a tenant: the narrow masks and the birth year for everyone, the full birth date
/// only through `/identity`, and whether the person lives in another unit too only for auditors and admins.
async fn masks_mask_and_only_staff_see_duplicates(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let pid = property.id();
    let first = app.unit(&landlord, pid, "201", 20.0).await;
    let second = app.unit(&landlord, pid, "202", 20.0).await;
    let number = resident_id("19880229", 45);
    let today = date(0);
    let declared = app
        .declare(&landlord, first.id(), &number, &today)
        .await
        .expect(201)
        .body;
    // The same person in a second unit: the landlord's own answer does not say so.
    let again = app
        .declare(&landlord, second.id(), &number, &today)
        .await
        .expect(201)
        .body;
    assert!(again.get("duplicate_elsewhere").is_none(), "{again}");
    let by_admin = app
        .declare(&v.admin, second.id(), &resident_id("19880229", 47), &today)
        .await
        .expect(201)
        .body;
    assert_eq!(by_admin["duplicate_elsewhere"], false);

    let tid = declared.id();
    for (role, session, sees) in [
        ("landlord", &landlord, false),
        ("inspector", &inspector, false),
        ("auditor", &auditor, true),
        ("admin", &v.admin, true),
    ] {
        let one = app
            .get(&format!("/api/v1/tenancies/{tid}"), Some(&session.token))
            .await
            .expect(200)
            .body;
        let list = app
            .get(
                &format!("/api/v1/tenancies?unit_id={}", first.id()),
                Some(&session.token),
            )
            .await
            .expect(200)
            .body;
        for tenancy in [&one, &list["items"][0]] {
            assert_eq!(tenancy["id"], declared["id"], "{role}");
            let tenant = &tenancy["tenant"];
            assert_eq!(
                tenant["id_number_masked"],
                format!("350*************{}", &number[16..]),
                "{role}"
            );
            assert_eq!(tenant["phone_masked"], "139******78", "{role}");
            assert_eq!(tenant["birth_year"], 1988, "{role}");
            assert!(tenant.get("birth_date").is_none(), "{role}: {tenant}");
            if sees {
                assert_eq!(tenancy["duplicate_elsewhere"], true, "{role}");
            } else {
                assert!(tenancy.get("duplicate_elsewhere").is_none(), "{role}: {tenancy}");
            }
            let text = tenancy.to_string();
            assert!(!text.contains(&number[3..16]), "{role}: no middle digits");
            assert!(!text.contains("1988-02-29"), "{role}: no birth date");
        }
    }
    let identity = app
        .get(&format!("/api/v1/tenancies/{tid}/identity"), Some(&auditor.token))
        .await
        .expect(200)
        .body;
    assert_eq!(identity["birth_date"], "1988-02-29");
}

/// The migration that narrows the masks of tenancies declared before, and of their audit events.
async fn stored_masks_are_narrowed(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "101", 50.0).await;
    let number = resident_id("19770615", 357);
    let resident = app
        .declare(&landlord, unit.id(), &number, &date(0))
        .await
        .expect(201)
        .body;
    app.post(
        &format!("/api/v1/units/{}/tenancies", unit.id()),
        Some(&landlord.token),
        json!({"tenant": {"full_name": "John Smith", "id_type": "passport", "id_number": "E12345678"},
               "move_in_date": date(0)}),
    )
    .await
    .expect(201);
    let old_mask = format!("{}**********{}", &number[..4], &number[14..]);
    let migration = match backend {
        Backend::Sqlite => include_str!("../migrations/sqlite/2026-11-29-000011_narrow_masks/up.sql"),
        Backend::Postgres => include_str!("../migrations/postgres/2026-11-29-000011_narrow_masks/up.sql"),
    };
    {
        let mut conn = app.db.get().unwrap();
        conn.batch_execute(&format!(
            "UPDATE tenancies SET id_number_masked = '{old_mask}', phone_masked = '1391***5678' WHERE id_type = 'resident_id';
             UPDATE tenancies SET id_number_masked = 'E123*5678' WHERE id_type = 'passport';
             UPDATE audit_events SET detail = '{{\"unit_id\":\"u\",\"id_number_masked\":\"{old_mask}\"}}' WHERE action = 'tenancy.declared';"
        ))
        .unwrap();
        conn.batch_execute(migration).unwrap();
    }
    let list = app
        .get("/api/v1/tenancies", Some(&v.admin.token))
        .await
        .expect(200)
        .body;
    let masks: Vec<(&Value, &Value)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (&t["tenant"]["id_number_masked"], &t["tenant"]["phone_masked"]))
        .collect();
    let new_mask = format!("350*************{}", &number[16..]);
    assert_eq!(
        masks,
        vec![
            (&json!(new_mask), &json!("139******78")),
            (&json!("*******78"), &Value::Null)
        ]
    );
    let events = app
        .get(
            &format!("/api/v1/audit-events?entity_id={}", resident.id()),
            Some(&v.admin.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(events["items"][0]["detail"]["id_number_masked"], json!(new_mask));
}

backend_tests!(masks_mask_and_only_staff_see_duplicates, stored_masks_are_narrowed);

/// One 422 names every bad field, shape and rules alike; free text refuses invisible and reordering
/// characters and is stored NFC-normalised; dates stay within 1900–2100; numbers cannot overflow a column.
async fn every_field_refuses_what_it_cannot_mean(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let token = Some(landlord.token.as_str());

    let answer = app
        .post(
            "/api/v1/properties",
            token,
            json!({"kind": "castle", "floors": 0, "floor_area_m2": -5}),
        )
        .await;
    assert_eq!(
        answer.error_fields(),
        vec!["address", "floor_area_m2", "floors", "kind", "name", "village_id"]
    );
    answer.problem(422);
    let answer = app
        .post(
            "/api/v1/properties",
            token,
            json!({"name": 5, "address": "东路\u{202E}1号", "village_id": v.id, "kind": "castle", "floors": "3",
                   "floor_area_m2": 1e308, "mixed_use_residence": "yes", "colour": "red"}),
        )
        .await;
    let codes: Vec<(String, String)> = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e.str("field").to_owned(), e.str("code").to_owned()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("address", "characters"),
        ("colour", "not_allowed"),
        ("floor_area_m2", "range"),
        ("floors", "type"),
        ("kind", "enum"),
        ("mixed_use_residence", "type"),
        ("name", "type"),
    ]
    .iter()
    .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(codes, expected);
    answer.problem(422);

    // Control, bidirectional-override and zero-width characters, in every kind of free text.
    let property = app.property(&landlord, &v.id).await;
    let pid = property.id();
    let unit = app.unit(&landlord, pid, "101", 30.0).await;
    let uid = unit.id();
    let today = date(0);
    for bad in [
        "a\u{7}b",
        "a\nb",
        "a\tb",
        "evil\u{202E}txt.exe",
        "a\u{2066}b\u{2069}",
        "a\u{200B}b",
        "\u{FEFF}a",
        "a\u{2060}b",
    ] {
        let cases = [
            (
                "POST",
                "/api/v1/properties".to_owned(),
                json!({"name": bad, "address": "东路1号", "village_id": v.id, "kind": "shop", "floors": 1, "floor_area_m2": 50}),
                "name",
            ),
            (
                "PATCH",
                format!("/api/v1/properties/{pid}"),
                json!({"address": bad}),
                "address",
            ),
            (
                "POST",
                format!("/api/v1/properties/{pid}/units"),
                json!({"label": bad, "floor": 1, "area_m2": 10, "kind": "room"}),
                "label",
            ),
            ("PATCH", format!("/api/v1/units/{uid}"), json!({"label": bad}), "label"),
            (
                "POST",
                format!("/api/v1/units/{uid}/tenancies"),
                json!({"tenant": {"full_name": bad, "id_type": "passport", "id_number": "E1234567", "origin": bad, "employer": bad},
                    "move_in_date": today}),
                "tenant.employer",
            ),
        ];
        for (method, path, body, field) in cases {
            let answer = app.call(method, &path, token, &[], Some(&body)).await;
            assert!(
                answer.error_fields().contains(&field.to_owned()),
                "{bad:?} {path}: {}",
                answer.body
            );
            assert!(
                answer.body["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|e| e["code"] == "characters"),
                "{}",
                answer.body
            );
            answer.problem(422);
        }
    }
    assert_eq!(app.count("tenancies"), 0);
    assert_eq!(app.count("units"), 1);

    // Stored NFC-normalised: the same name typed on two phones is the same text.
    let decomposed = "Cafe\u{301} 楼";
    let changed = app
        .patch(
            &format!("/api/v1/properties/{pid}"),
            token,
            json!({"name": decomposed, "address": "Jose\u{301} 路"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(changed["name"], "Caf\u{e9} 楼");
    let read = app
        .get(&format!("/api/v1/properties/{pid}"), token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (&read["name"], &read["address"]),
        (&json!("Caf\u{e9} 楼"), &json!("Jos\u{e9} 路"))
    );
    let tenancy = app
        .post(
            &format!("/api/v1/units/{uid}/tenancies"),
            token,
            json!({"tenant": {"full_name": "Zoe\u{308}", "id_type": "passport", "id_number": "E1234567"}, "move_in_date": today}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(tenancy["tenant"]["full_name"], "Zo\u{eb}");

    // Dates outside 1900–2100, and numbers a column cannot hold.
    for date in ["0000-01-01", "-4713-01-01", "1899-12-31", "2101-01-01", "+10000-01-01"] {
        let answer = app
            .post(
                &format!("/api/v1/units/{uid}/tenancies"),
                token,
                json!({"tenant": {"full_name": "李四", "id_type": "passport", "id_number": "E7654321"}, "move_in_date": date}),
            )
            .await;
        assert_eq!(answer.error_fields(), vec!["move_in_date"], "{date}: {}", answer.body);
        answer.problem(422);
        let answer = app
            .post(
                &format!("/api/v1/tenancies/{}/move-out", tenancy.id()),
                token,
                json!({"move_out_date": date}),
            )
            .await;
        assert_eq!(answer.error_fields(), vec!["move_out_date"], "{date}: {}", answer.body);
        answer.problem(422);
    }
    for (body, fields) in [
        (
            json!({"floors": 2147483648i64, "floor_area_m2": 1e308}),
            vec!["floor_area_m2", "floors"],
        ),
        (
            json!({"floors": -2147483649i64, "floor_area_m2": 0}),
            vec!["floor_area_m2", "floors"],
        ),
    ] {
        let answer = app.patch(&format!("/api/v1/properties/{pid}"), token, body).await;
        assert_eq!(answer.error_fields(), fields);
        answer.problem(422);
    }
    for body in [
        json!({"max_occupants": 2147483647}),
        json!({"max_occupants": 0}),
        json!({"area_m2": 1e308}),
        json!({"floor": 2147483647}),
    ] {
        app.patch(&format!("/api/v1/units/{uid}"), token, body)
            .await
            .problem(422);
    }
    let unit_now = app.get(&format!("/api/v1/units/{uid}"), token).await.expect(200).body;
    assert_eq!(
        (&unit_now["max_occupants"], &unit_now["floor"], &unit_now["area_m2"]),
        (&json!(6), &json!(2), &json!(30.0))
    );
}

backend_tests!(every_field_refuses_what_it_cannot_mean);

/// Statuses and kinds are typed columns: a stored text that names no variant (a hand edit, a bad migration) is
/// corruption, answered 500 with a request id and nothing of the text, never a panic or a guess.
async fn a_status_no_enum_names_is_an_internal_error(backend: Backend) {
    use diesel::RunQueryDsl;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let path = format!("/api/v1/properties/{}", property.id());
    app.get(&path, Some(&landlord.token)).await.expect(200);
    let id = property.id().to_owned();
    app.db
        .write_blocking(move |conn| {
            diesel::sql_query(format!(
                "UPDATE properties SET status = 'condemned-xyz' WHERE id = '{id}'"
            ))
            .execute(conn)?;
            Ok(())
        })
        .unwrap();
    let answer = app.get(&path, Some(&landlord.token)).await;
    let text = String::from_utf8_lossy(&answer.bytes).into_owned();
    let problem = answer.problem(500);
    assert!(problem["request_id"].is_string(), "{problem}");
    assert!(!text.contains("condemned"), "{text}");
    // The server goes on serving.
    app.get("/api/v1/me", Some(&landlord.token)).await.expect(200);
}

backend_tests!(a_status_no_enum_names_is_an_internal_error);
