//! Enterprises and the units or properties let to them (issue 16, part 1): the unified social credit code, scope,
//! leases carried by tenancies, and the enterprise filters of lists, ledger and summary.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use anzu::enterprises::uscc::{ALPHABET, CreditCode};
use common::scene::{Scene, date};
use common::{Answer, Backend, JsonExt, Session, TestApp, resident_id};
use serde_json::{Value, json};

/// Published codes whose check character this implementation confirms.
const VALID_CODES: &[&str] = &[
    "91350100M000100Y43",
    "91110000802100433B",
    "91440300708461136T",
    "91110108551385082Q",
    "91310000775785552L",
    "914403001922038216",
];

const PHONE: &str = "13712345698";

fn enterprise_body(code: &str) -> Value {
    json!({"name": "晋江鞋业有限公司", "unified_social_credit_code": code, "contact_name": "陈经理",
           "contact_phone": PHONE})
}

async fn register(app: &TestApp, by: &Session, body: Value) -> Answer {
    app.post("/api/v1/enterprises", Some(&by.token), body).await
}

/// Registers an enterprise with `code`, 201 expected.
async fn enterprise(app: &TestApp, by: &Session, code: &str) -> Value {
    register(app, by, enterprise_body(code)).await.expect(201).body
}

async fn let_to(app: &TestApp, by: &Session, premises: &str, id: &str, body: Value) -> Answer {
    app.call(
        "PUT",
        &format!("/api/v1/{premises}/{id}/lease"),
        Some(&by.token),
        &[],
        Some(&body),
    )
    .await
}

fn lease_of(enterprise: &Value) -> Value {
    json!({"enterprise_id": enterprise.id(), "start_date": date(-10)})
}

/// The ids of a list answer's items.
fn ids(list: &Value) -> Vec<String> {
    list.array("items").iter().map(|i| i.id().to_owned()).collect()
}

/// A second village with its own landlord, inspector and a property.
struct Elsewhere {
    village_id: String,
    landlord: Session,
    inspector: Session,
}

async fn elsewhere(s: &Scene) -> Elsewhere {
    let village = s.app.village(&s.admin).await;
    let village_id = village.id().to_owned();
    let landlord = s.app.user(&s.admin, "landlord", Some(&village_id)).await;
    let inspector = s.app.user(&s.admin, "inspector", Some(&village_id)).await;
    Elsewhere {
        village_id,
        landlord,
        inspector,
    }
}

async fn end_lease(app: &TestApp, by: &Session, premises: &str, id: &str) -> Answer {
    app.call(
        "DELETE",
        &format!("/api/v1/{premises}/{id}/lease"),
        Some(&by.token),
        &[],
        None,
    )
    .await
}

/// Declares a worker (resident ID sequence `seq`) moving in `days` days from today; the tenancy.
async fn worker(s: &Scene, unit_id: &str, seq: u32, days: i64) -> Value {
    s.app
        .declare(&s.landlord, unit_id, &resident_id("19900101", seq), &date(days))
        .await
        .expect(201)
        .body
}

/// What `by` reads at `path` (200 expected).
async fn read(app: &TestApp, by: &Session, path: &str) -> Value {
    app.get(path, Some(&by.token)).await.expect(200).body
}

/// Published codes pass; every single-character change of each (each position, each other character of the
/// alphabet) is refused, as are lower case, a wrong length and the letters I, O, S, V, Z: over HTTP a 422 naming
/// the field, without the value.
async fn the_credit_code_and_its_check_character(backend: Backend) {
    let s = Scene::new(backend).await;
    for code in VALID_CODES {
        assert!(CreditCode::parse(code).is_ok(), "{code}");
        for position in 0..18 {
            for replacement in ALPHABET.chars() {
                let mut changed: Vec<char> = code.chars().collect();
                if changed[position] == replacement {
                    continue;
                }
                changed[position] = replacement;
                let changed: String = changed.into_iter().collect();
                assert!(CreditCode::parse(&changed).is_err(), "{changed} passed");
            }
        }
    }
    for code in VALID_CODES {
        enterprise(&s.app, &s.landlord, code).await;
    }
    // One changed character per position over HTTP.
    let code = VALID_CODES[0];
    for position in 0..18 {
        let mut changed: Vec<char> = code.chars().collect();
        changed[position] = if changed[position] == '1' { '2' } else { '1' };
        let changed: String = changed.into_iter().collect();
        let answer = register(&s.app, &s.inspector, enterprise_body(&changed)).await;
        assert_eq!(answer.error_fields(), ["unified_social_credit_code"], "{changed}");
        let problem = answer.problem(422);
        assert!(!problem.to_string().contains(&changed), "{problem}");
        assert_eq!(problem["errors"][0]["code"], "checksum");
    }
    let lower = "91350100m000100y43";
    let mut refused = vec![
        lower.to_owned(),
        code[..17].to_owned(),
        format!("{code}0"),
        String::new(),
    ];
    for letter in ['I', 'O', 'S', 'V', 'Z'] {
        refused.push(format!("{}{letter}{}", &code[..8], &code[9..]));
    }
    for bad in refused {
        let answer = register(&s.app, &s.landlord, enterprise_body(&bad)).await;
        assert_eq!(answer.error_fields(), ["unified_social_credit_code"], "{bad}");
        answer.problem(422);
    }
    assert_eq!(s.app.count("enterprises"), VALID_CODES.len() as i64);
}

/// The same code twice in a village is a 409 (whoever registered it first); in another village it is a new
/// enterprise.
async fn one_code_per_village(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = elsewhere(&s).await;
    let code = VALID_CODES[1];
    let first = enterprise(&s.app, &s.landlord, code).await;
    assert_eq!(first.str("village_id"), s.village_id);
    assert_eq!(first.str("unified_social_credit_code"), code);
    register(&s.app, &s.inspector, enterprise_body(code)).await.problem(409);
    let mut by_admin = enterprise_body(code);
    by_admin["village_id"] = json!(s.village_id);
    register(&s.app, &s.admin, by_admin).await.problem(409);
    let there = enterprise(&s.app, &other.landlord, code).await;
    assert_eq!(there.str("village_id"), other.village_id);
    let mut by_admin = enterprise_body(VALID_CODES[2]);
    by_admin["village_id"] = json!(other.village_id);
    register(&s.app, &s.admin, by_admin).await.expect(201);
    // A landlord registers in their own village only; an admin must name one.
    let mut moved = enterprise_body(VALID_CODES[3]);
    moved["village_id"] = json!(other.village_id);
    let answer = register(&s.app, &s.landlord, moved).await;
    assert_eq!(answer.error_fields(), ["village_id"]);
    let answer = register(&s.app, &s.admin, enterprise_body(VALID_CODES[3])).await;
    assert_eq!(answer.error_fields(), ["village_id"]);
    assert_eq!(s.app.count("enterprises"), 3);
}

/// Staff see their village's enterprises (admins all); a landlord those they registered and those let one of
/// their rentals; anything else is a 404, as if it did not exist.
async fn who_sees_which_enterprise(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = elsewhere(&s).await;
    let neighbour = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let own = enterprise(&s.app, &s.landlord, VALID_CODES[0]).await;
    let staffs = enterprise(&s.app, &s.inspector, VALID_CODES[1]).await;
    let far = enterprise(&s.app, &other.landlord, VALID_CODES[2]).await;
    let get = |id: &str| format!("/api/v1/enterprises/{id}");

    for staff in [&s.inspector, &s.auditor] {
        let list = read(&s.app, staff, "/api/v1/enterprises").await;
        assert_eq!(ids(&list), [own.id(), staffs.id()]);
        s.app.get(&get(far.id()), Some(&staff.token)).await.problem(404);
    }
    let all = read(&s.app, &s.admin, "/api/v1/enterprises").await;
    assert_eq!(ids(&all), [own.id(), staffs.id(), far.id()]);
    let filtered = read(
        &s.app,
        &s.admin,
        &format!("/api/v1/enterprises?village_id={}", other.village_id),
    )
    .await;
    assert_eq!(ids(&filtered), [far.id()]);
    s.app
        .get(&get(far.id()), Some(&other.inspector.token))
        .await
        .expect(200);
    s.app
        .get(&get(own.id()), Some(&other.inspector.token))
        .await
        .problem(404);

    // The landlord: only the one they registered, until the staff's enterprise rents one of their units.
    let list = read(&s.app, &s.landlord, "/api/v1/enterprises").await;
    assert_eq!(ids(&list), [own.id()]);
    s.app.get(&get(staffs.id()), Some(&s.landlord.token)).await.problem(404);
    s.app.get(&get(own.id()), Some(&neighbour.token)).await.problem(404);
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 30.0).await;
    let by_code = json!({"unified_social_credit_code": VALID_CODES[1], "start_date": date(-1)});
    let lease = let_to(&s.app, &s.landlord, "units", unit.id(), by_code)
        .await
        .expect(200)
        .body;
    assert_eq!(lease.str("enterprise_id"), staffs.id());
    s.app.get(&get(staffs.id()), Some(&s.landlord.token)).await.expect(200);
    let list = read(&s.app, &s.landlord, "/api/v1/enterprises").await;
    assert_eq!(ids(&list), [own.id(), staffs.id()]);
    let list = read(&s.app, &neighbour, "/api/v1/enterprises").await;
    assert!(ids(&list).is_empty());
    s.app.get(&get(staffs.id()), None).await.problem(401);
    s.app.get("/api/v1/enterprises", None).await.problem(401);
    s.app
        .get("/api/v1/enterprises/not-an-id", Some(&s.admin.token))
        .await
        .problem(404);
    let bad = s
        .app
        .get("/api/v1/enterprises?village_id=nope", Some(&s.admin.token))
        .await;
    assert_eq!(bad.error_fields(), ["village_id"]);
    bad.problem(400);
}

/// Each role on each new endpoint: who registers (landlords active, inspectors, admins; auditors read), who lets
/// and ends a lease (the owner, inspectors of the village, admins), and the foreign landlord, the other village's
/// inspector and no token.
async fn each_role_on_each_endpoint(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = elsewhere(&s).await;
    let pending = s.app.registered_landlord(&s.village_id).await;
    register(&s.app, &s.auditor, enterprise_body(VALID_CODES[0]))
        .await
        .problem(403);
    let refused = register(&s.app, &pending, enterprise_body(VALID_CODES[0]))
        .await
        .problem(403);
    assert!(refused.str("type").ends_with("membership-inactive"));
    s.app
        .post("/api/v1/enterprises", None, enterprise_body(VALID_CODES[0]))
        .await
        .problem(401);
    let e = enterprise(&s.app, &s.inspector, VALID_CODES[0]).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 30.0).await;

    for (premises, id) in [("units", unit.id()), ("properties", s.pid())] {
        let path = format!("/api/v1/{premises}/{id}/lease");
        for outsider in [&other.landlord, &other.inspector] {
            let_to(&s.app, outsider, premises, id, lease_of(&e)).await.problem(404);
            end_lease(&s.app, outsider, premises, id).await.problem(404);
            s.app.get(&path, Some(&outsider.token)).await.problem(404);
        }
        let_to(&s.app, &s.auditor, premises, id, lease_of(&e))
            .await
            .problem(403);
        s.app
            .call("PUT", &path, None, &[], Some(&lease_of(&e)))
            .await
            .problem(401);
        s.app.get(&path, Some(&s.landlord.token)).await.problem(404);
        // The landlord cannot see the inspector's enterprise: they name it by its code.
        let by_code = json!({"unified_social_credit_code": VALID_CODES[0], "start_date": date(-10)});
        for (by, body) in [
            (&s.landlord, &by_code),
            (&s.inspector, &lease_of(&e)),
            (&s.admin, &lease_of(&e)),
        ] {
            let lease = let_to(&s.app, by, premises, id, body.clone()).await.expect(200).body;
            assert_eq!(lease.str("enterprise_id"), e.id());
            assert_eq!(lease.str("start_date"), date(-10));
            for reader in [&s.landlord, &s.inspector, &s.auditor, &s.admin] {
                let answer = read(&s.app, reader, &path).await;
                assert_eq!(answer, lease);
            }
            end_lease(&s.app, &s.auditor, premises, id).await.problem(403);
            s.app.call("DELETE", &path, None, &[], None).await.problem(401);
            end_lease(&s.app, by, premises, id).await.expect(204);
            end_lease(&s.app, by, premises, id).await.problem(404);
        }
    }
    let events = read(
        &s.app,
        &s.admin,
        &format!("/api/v1/audit-events?entity_id={}", unit.id()),
    )
    .await;
    let actions: Vec<&str> = events.array("items").iter().map(|e| e.str("action")).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "lease.started").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "lease.ended").count(),
        3,
        "{actions:?}"
    );
}

/// The contact phone is stored encrypted, answered masked (first 3, last 2), and in no log.
async fn the_contact_phone_is_masked_and_never_logged(backend: Backend) {
    common::capture_logs();
    let s = Scene::new(backend).await;
    let e = enterprise(&s.app, &s.landlord, VALID_CODES[4]).await;
    assert_eq!(e.str("contact_phone_masked"), "137******98");
    assert!(e.get("contact_phone").is_none(), "{e}");
    assert!(!e.to_string().contains(PHONE));
    for reader in [&s.landlord, &s.auditor, &s.admin] {
        let read = s
            .app
            .get(&format!("/api/v1/enterprises/{}", e.id()), Some(&reader.token))
            .await
            .expect(200);
        assert!(!read.text().contains(PHONE));
        let list = s.app.get("/api/v1/enterprises", Some(&reader.token)).await.expect(200);
        assert!(!list.text().contains(PHONE));
    }
    let duplicate = register(&s.app, &s.inspector, enterprise_body(VALID_CODES[4]))
        .await
        .problem(409);
    assert!(!duplicate.to_string().contains(PHONE));
    let mut bad_phone = enterprise_body(VALID_CODES[5]);
    bad_phone["contact_phone"] = json!("2371234569");
    let answer = register(&s.app, &s.landlord, bad_phone).await;
    assert_eq!(answer.error_fields(), ["contact_phone"]);
    assert!(!answer.problem(422).to_string().contains("2371234569"));
    let stored: Vec<String> = {
        use anzu::db::schema::enterprises;
        use diesel::prelude::*;
        let mut conn = s.app.db.get().unwrap();
        enterprises::table
            .select(enterprises::contact_phone_encrypted)
            .load(&mut *conn)
            .unwrap()
    };
    assert!(stored.iter().all(|c| !c.contains(PHONE)), "{stored:?}");
    assert!(!common::captured_logs().contains(PHONE));
}

/// A tenant declared in a let unit carries the enterprise: the unit's own lease, else its property's; one
/// declared before the lease, or after it ended, carries none. An enterprise of another village, or one the
/// caller cannot see, is a 422 naming `enterprise_id`.
async fn tenancies_in_a_let_unit_carry_the_enterprise(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = elsewhere(&s).await;
    let e = enterprise(&s.app, &s.inspector, VALID_CODES[0]).await;
    let f = enterprise(&s.app, &s.inspector, VALID_CODES[1]).await;
    let far = enterprise(&s.app, &other.inspector, VALID_CODES[2]).await;
    let dorm = s.app.unit(&s.landlord, s.pid(), "D-1", 60.0).await;
    let room = s.app.unit(&s.landlord, s.pid(), "R-1", 20.0).await;

    assert_eq!(worker(&s, dorm.id(), 11, 0).await["enterprise_id"], Value::Null);
    let refusals = [
        (&s.admin, lease_of(&far), "enterprise_id"),
        (&s.landlord, lease_of(&e), "enterprise_id"),
        (&s.landlord, json!({"start_date": date(0)}), "enterprise_id"),
        (
            &s.landlord,
            json!({"unified_social_credit_code": VALID_CODES[2], "start_date": date(0)}),
            "unified_social_credit_code",
        ),
        (
            &s.inspector,
            json!({"enterprise_id": e.id(), "start_date": "1800-01-01"}),
            "start_date",
        ),
    ];
    for (by, body, field) in refusals {
        let refused = let_to(&s.app, by, "units", dorm.id(), body).await;
        assert_eq!(refused.error_fields(), [field]);
        refused.problem(422);
    }

    let_to(&s.app, &s.inspector, "units", dorm.id(), lease_of(&e))
        .await
        .expect(200);
    let_to(&s.app, &s.inspector, "properties", s.pid(), lease_of(&f))
        .await
        .expect(200);
    let unit = read(&s.app, &s.landlord, &format!("/api/v1/units/{}", dorm.id())).await;
    assert_eq!(
        (unit.str("enterprise_id"), unit.str("enterprise_since")),
        (e.id(), date(-10).as_str())
    );
    let property = read(&s.app, &s.inspector, &format!("/api/v1/properties/{}", s.pid())).await;
    assert_eq!(property.str("enterprise_id"), f.id());
    let unit = read(&s.app, &s.landlord, &format!("/api/v1/units/{}", room.id())).await;
    assert_eq!(unit["enterprise_id"], Value::Null);
    let in_dorm = worker(&s, dorm.id(), 21, 0).await;
    assert_eq!(in_dorm.str("enterprise_id"), e.id());
    assert_eq!(worker(&s, room.id(), 31, 0).await.str("enterprise_id"), f.id());
    let path = format!("/api/v1/tenancies/{}", in_dorm.id());
    assert_eq!(read(&s.app, &s.auditor, &path).await.str("enterprise_id"), e.id());

    end_lease(&s.app, &s.landlord, "units", dorm.id()).await.expect(204);
    assert_eq!(worker(&s, dorm.id(), 41, 0).await.str("enterprise_id"), f.id());
    end_lease(&s.app, &s.landlord, "properties", s.pid()).await.expect(204);
    assert_eq!(worker(&s, dorm.id(), 51, 0).await["enterprise_id"], Value::Null);
    assert_eq!(read(&s.app, &s.landlord, &path).await.str("enterprise_id"), e.id());
}

/// `enterprise_id` on the tenancies and properties lists, the ledger and the summary returns only what is let to
/// it; a malformed id names the field; an enterprise of another village gives nothing.
async fn filters_by_enterprise(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = elsewhere(&s).await;
    let e = enterprise(&s.app, &s.inspector, VALID_CODES[0]).await;
    let far = enterprise(&s.app, &other.inspector, VALID_CODES[1]).await;
    let dorm = s.app.unit(&s.landlord, s.pid(), "E-101", 60.0).await;
    let room = s.app.unit(&s.landlord, s.pid(), "X-102", 20.0).await;
    let second = s.app.property(&s.landlord, &s.village_id).await;
    let_to(&s.app, &s.inspector, "units", dorm.id(), lease_of(&e))
        .await
        .expect(200);
    let late_worker = worker(&s, dorm.id(), 11, -10).await;
    worker(&s, room.id(), 21, 0).await;

    let q = format!("enterprise_id={}", e.id());
    for reader in [&s.landlord, &s.auditor, &s.admin] {
        let tenancies = read(&s.app, reader, &format!("/api/v1/tenancies?{q}")).await;
        assert_eq!(ids(&tenancies), [late_worker.id()]);
        let properties = read(&s.app, reader, &format!("/api/v1/properties?{q}")).await;
        assert_eq!(ids(&properties), [s.pid()]);
    }
    let all = read(&s.app, &s.admin, "/api/v1/properties").await;
    assert_eq!(ids(&all), [s.pid(), second.id()]);

    let ledger = s
        .app
        .get(
            &format!("/api/v1/reports/ledger.csv?village_id={}&{q}", s.village_id),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .text();
    assert!(ledger.contains("E-101") && !ledger.contains("X-102"), "{ledger}");
    let summary = read(&s.app, &s.auditor, &format!("/api/v1/reports/summary?{q}")).await;
    assert_eq!(summary["properties"]["total"], 1, "{summary}");
    assert_eq!(summary["units"], 1, "{summary}");
    assert_eq!(summary["active_tenancies"], 1, "{summary}");
    assert_eq!(summary["late_declarations"], 1, "{summary}");
    let whole = read(&s.app, &s.auditor, "/api/v1/reports/summary").await;
    assert_eq!(whole["properties"]["total"], 2);
    assert_eq!(whole["active_tenancies"], 2);

    // Letting the whole second property adds it and its units.
    s.app.unit(&s.landlord, second.id(), "W-1", 30.0).await;
    let_to(&s.app, &s.landlord, "properties", second.id(), lease_of(&e))
        .await
        .expect(200);
    let summary = read(&s.app, &s.admin, &format!("/api/v1/reports/summary?{q}")).await;
    assert_eq!(summary["properties"]["total"], 2, "{summary}");
    assert_eq!(summary["units"], 2, "{summary}");

    // Another village's enterprise: nothing in this village's scope.
    let fq = format!("enterprise_id={}", far.id());
    let none = read(&s.app, &s.auditor, &format!("/api/v1/tenancies?{fq}")).await;
    assert!(ids(&none).is_empty());
    let none = read(&s.app, &s.landlord, &format!("/api/v1/properties?{fq}")).await;
    assert!(ids(&none).is_empty());
    let summary = read(&s.app, &s.auditor, &format!("/api/v1/reports/summary?{fq}")).await;
    assert_eq!(summary["properties"]["total"], 0);
    assert_eq!(summary["active_tenancies"], 0);
    let ledger = s
        .app
        .get(&format!("/api/v1/reports/ledger.csv?{fq}"), Some(&s.auditor.token))
        .await
        .expect(200)
        .text();
    assert_eq!(ledger.lines().count(), 1, "{ledger}");

    for path in [
        "/api/v1/tenancies",
        "/api/v1/properties",
        "/api/v1/reports/summary",
        "/api/v1/reports/ledger.csv",
    ] {
        let bad = s
            .app
            .get(&format!("{path}?enterprise_id=nope"), Some(&s.admin.token))
            .await;
        assert_eq!(bad.error_fields(), ["enterprise_id"], "{path}");
        bad.problem(400);
    }
}

/// A registration repeated with its `Idempotency-Key` answers the first 201 again and registers once; the answer
/// carries its version as an `ETag`.
async fn a_repeated_registration_is_replayed(backend: Backend) {
    let s = Scene::new(backend).await;
    let body = enterprise_body(VALID_CODES[0]);
    let headers = [("Idempotency-Key", "enterprise-1")];
    let send = || {
        s.app.call(
            "POST",
            "/api/v1/enterprises",
            Some(&s.landlord.token),
            &headers,
            Some(&body),
        )
    };
    let first = send().await.expect(201);
    let again = send().await.expect(201);
    assert_eq!(first.body, again.body);
    assert_eq!(first.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(s.app.count("enterprises"), 1);
    let read = s
        .app
        .get(
            &format!("/api/v1/enterprises/{}", first.body.id()),
            Some(&s.landlord.token),
        )
        .await;
    assert_eq!(read.expect(200).header("etag").as_deref(), Some("\"1\""));
}

/// Workers declared in bulk (a CSV to `/units/{id}/tenancies/import`) in a let unit carry the enterprise as a
/// single declaration does, and the enterprise's tenancies list shows them.
async fn a_bulk_declaration_carries_the_enterprise(backend: Backend) {
    let s = Scene::new(backend).await;
    let e = enterprise(&s.app, &s.landlord, VALID_CODES[0]).await;
    let dorm = s.app.unit(&s.landlord, s.pid(), "宿舍A", 200.0).await;
    let_to(&s.app, &s.landlord, "units", dorm.id(), lease_of(&e))
        .await
        .expect(200);
    let mut csv = String::from("full_name,id_number,move_in_date\n");
    for seq in 0..3 {
        csv.push_str(&format!(
            "工人{seq},{},{}\n",
            resident_id("19980303", 100 + seq),
            date(-1)
        ));
    }
    let path = format!("/api/v1/units/{}/tenancies/import", dorm.id());
    let report = s
        .app
        .send_raw("POST", &path, Some(&s.landlord.token), "text/csv", csv.into_bytes())
        .await;
    assert_eq!(report.expect(200).body["accepted"], 3);
    let list = read(
        &s.app,
        &s.landlord,
        &format!("/api/v1/tenancies?enterprise_id={}", e.id()),
    )
    .await;
    let items = list.array("items");
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|t| t.str("enterprise_id") == e.id()), "{list}");
}

backend_tests!(
    a_repeated_registration_is_replayed,
    a_bulk_declaration_carries_the_enterprise,
    the_credit_code_and_its_check_character,
    one_code_per_village,
    who_sees_which_enterprise,
    each_role_on_each_endpoint,
    the_contact_phone_is_masked_and_never_logged,
    tenancies_in_a_let_unit_carry_the_enterprise,
    filters_by_enterprise,
);
