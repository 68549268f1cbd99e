//! The bulk declaration of workers by CSV: a unit's file and a property's, read as the ledger import reads
//! (byte-order mark, comma or tab, `dry_run`, `partial`), declared by the single declaration's rules.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::{Backend, JsonExt, Session, TestApp, resident_id};
use serde_json::{Value, json};

const ENGLISH_HEADER: [&str; 6] = ["full_name", "id_type", "id_number", "phone", "origin", "move_in_date"];
const CHINESE_HEADER: [&str; 6] = ["姓名", "证件类型", "身份证号", "手机号", "籍贯", "入住日期"];

/// A worker's line: name, id type, number, phone, origin, move-in date.
fn worker(name: &str, number: &str, move_in: &str) -> Vec<String> {
    [name, "resident_id", number, "13912345678", "四川省", move_in]
        .map(str::to_owned)
        .to_vec()
}

/// A file of `lines` under `header`, separated by `separator`, with a byte-order mark when asked.
fn file(header: &[&str], lines: &[Vec<String>], separator: &str, bom: bool) -> Vec<u8> {
    let mut text = String::from(if bom { "\u{feff}" } else { "" });
    text.push_str(&header.join(separator));
    for line in lines {
        text.push('\n');
        text.push_str(&line.join(separator));
    }
    text.push('\n');
    text.into_bytes()
}

async fn import(app: &TestApp, session: Option<&Session>, path: &str, bytes: Vec<u8>) -> common::Answer {
    app.send_raw("POST", path, session.map(|s| s.token.as_str()), "text/csv", bytes)
        .await
}

fn unit_import(unit_id: &str) -> String {
    format!("/api/v1/units/{unit_id}/tenancies/import")
}

/// (line, column) of each rejection.
fn rejected(report: &Value) -> Vec<(u64, String)> {
    report
        .array("rejected")
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r.str("column").to_owned()))
        .collect()
}

async fn unit_now(app: &TestApp, session: &Session, unit_id: &str) -> Value {
    app.get(&format!("/api/v1/units/{unit_id}"), Some(&session.token))
        .await
        .expect(200)
        .body
}

async fn a_good_file_declares_every_worker(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    let dorm = app.unit(&s.landlord, s.pid(), "宿舍A", 200.0).await;
    let path = unit_import(dorm.id());
    let numbers: Vec<String> = (0..8).map(|n| resident_id("19980303", 100 + n)).collect();
    let lines = |range: std::ops::Range<usize>| -> Vec<Vec<String>> {
        range
            .map(|n| worker(&format!("工人{n}号"), &numbers[n], &date(-1)))
            .collect()
    };
    // Chinese headers with a byte-order mark and commas; English ones without, and tabs; and the two mixed.
    let files = [
        file(&CHINESE_HEADER, &lines(0..2), ",", true),
        file(&ENGLISH_HEADER, &lines(2..4), "\t", false),
        file(&CHINESE_HEADER, &lines(4..6), "\t", true),
        file(&ENGLISH_HEADER, &lines(6..8), ",", false),
    ];
    for bytes in files {
        let report = import(app, Some(&s.landlord), &path, bytes).await.expect(200).body;
        assert_eq!(report["rejected"], json!([]), "{report}");
        assert_eq!(
            (
                report["accepted"].as_u64(),
                report["committed"].as_bool(),
                report["dry_run"].as_bool()
            ),
            (Some(2), Some(true), Some(false))
        );
        assert_eq!(report["created"], json!({"tenancies": 2}));
        assert!(
            report.get("duplicate_elsewhere_lines").is_none(),
            "a landlord never learns it"
        );
    }
    assert_eq!(app.count("tenancies"), 8);
    assert_eq!(unit_now(app, &s.landlord, dorm.id()).await["active_tenants"], 8);
    assert_eq!(s.property_now().await["active_tenants"], 8);
    // Stored as a single declaration stores them: encrypted, masked in answers.
    let listed = app
        .get(
            &format!("/api/v1/tenancies?unit_id={}&limit=200", dorm.id()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200);
    let text = listed.text();
    for number in &numbers {
        assert!(!text.contains(number.as_str()));
    }
    let first = &listed.body.array("items")[0];
    assert_eq!(
        first["tenant"]["id_number_masked"],
        format!("350{}{}", "*".repeat(13), &numbers[0][16..])
    );
    assert_eq!(first["tenant"]["phone_masked"], "139******78");
    assert_eq!(first["tenant"]["origin"], "四川省");
    assert_eq!(first["tenant"]["birth_year"], 1998);
    let identity = app
        .get(
            &format!("/api/v1/tenancies/{}/identity", first.id()),
            Some(&s.admin.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(identity["id_number"], numbers[0].as_str());
    // One audit event per file, with counts and nothing personal.
    let events = app
        .get(
            &format!("/api/v1/audit-events?entity_type=unit&entity_id={}", dorm.id()),
            Some(&s.admin.token),
        )
        .await
        .expect(200);
    let imported: Vec<&Value> = events
        .body
        .array("items")
        .iter()
        .filter(|e| e["action"] == "tenancies.imported")
        .collect();
    assert_eq!(imported.len(), 4);
    assert_eq!(imported[0]["detail"]["accepted"], 2);
    assert!(!events.text().contains(&numbers[0][..10]) && !events.text().contains("工人0号"));

    // A property's file names each line's unit; other names of the columns read too.
    let room = app.unit(&s.landlord, s.pid(), "102", 30.0).await;
    let per_property = "房号,姓名,证件号码,证件类型,入住日期,工作单位\n\
                        宿舍A,陈一,{a},身份证,2026/11/02,晋江鞋业\n\
                        102,陈二,E1234567,护照,{today},\n"
        .replace("{a}", &resident_id("19900101", 11))
        .replace("2026/11/02", &date(-2).replace('-', "/"))
        .replace("{today}", &date(0));
    let report = import(
        app,
        Some(&s.admin),
        &format!("/api/v1/properties/{}/tenancies/import", s.pid()),
        per_property.into_bytes(),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].clone()),
        (Some(2), json!([]))
    );
    assert_eq!(report["duplicate_elsewhere_lines"], json!([]), "an admin sees the key");
    assert_eq!(unit_now(app, &s.landlord, room.id()).await["active_tenants"], 1);
    assert_eq!(unit_now(app, &s.landlord, dorm.id()).await["active_tenants"], 9);
}

async fn bad_lines_are_named_by_line_and_column_never_by_value(backend: Backend) {
    common::capture_logs();
    let s = Scene::new(backend).await;
    let app = &s.app;
    let dorm = app.unit(&s.landlord, s.pid(), "宿舍B", 200.0).await;
    let good = resident_id("19870707", 31);
    let typo = {
        let valid = resident_id("19870707", 33);
        let wrong = if valid.ends_with('1') { '2' } else { '1' };
        format!("{}{wrong}", &valid[..17])
    };
    let unknown_type_number = resident_id("19870707", 35);
    let bad_passport = "E12-3456".to_owned();
    let other_good = resident_id("19870707", 37);
    let lines = vec![
        worker("欧阳正确", &good, &date(0)),
        worker("欧阳笔误", &typo, &date(0)),
        worker("", &resident_id("19870707", 39), &date(0)),
        worker("欧阳日期", &resident_id("19870707", 41), "2026-13-01"),
        {
            let mut l = worker("欧阳类型", &unknown_type_number, &date(0));
            l[1] = "驾照".into();
            l
        },
        {
            let mut l = worker("欧阳电话", &resident_id("19870707", 43), &date(0));
            l[3] = "12345".into();
            l
        },
        worker("欧阳将来", &resident_id("19870707", 45), &date(31)),
        {
            let mut l = worker("欧阳护照", &bad_passport, &date(0));
            l[1] = "passport".into();
            l
        },
        worker("欧阳也对", &other_good, &date(0)),
    ];
    let bytes = file(&ENGLISH_HEADER, &lines, ",", false);
    let answer = import(app, Some(&s.landlord), &unit_import(dorm.id()), bytes.clone())
        .await
        .expect(200);
    let report = &answer.body;
    assert_eq!(
        rejected(report),
        [
            (3, "id_number"),
            (4, "full_name"),
            (5, "move_in_date"),
            (6, "id_type"),
            (7, "phone"),
            (8, "move_in_date"),
            (9, "id_number"),
        ]
        .map(|(l, c)| (l, c.to_owned()))
        .to_vec(),
        "every bad cell is named, each once: {report}"
    );
    assert_eq!(
        (report["accepted"].as_u64(), report["committed"].as_bool()),
        (Some(2), Some(false))
    );
    assert_eq!(app.count("tenancies"), 0, "one bad line stops the whole file");
    let text = answer.text();
    for secret in [&good, &typo, &unknown_type_number, &bad_passport, &other_good] {
        assert!(!text.contains(secret.as_str()), "the answer never holds a number");
        if secret.len() == 18 {
            assert!(!text.contains(&secret[..10]), "nor a part of one");
        }
    }
    for name in [
        "欧阳正确",
        "欧阳笔误",
        "欧阳日期",
        "欧阳类型",
        "欧阳电话",
        "欧阳将来",
        "欧阳护照",
        "欧阳也对",
    ] {
        assert!(!text.contains(name), "nor a name");
    }
    let logs = common::captured_logs();
    for secret in [&good, &typo, &unknown_type_number, &other_good] {
        assert!(!logs.contains(secret.as_str()), "nor do the logs");
    }
    assert!(!logs.contains("欧阳笔误"));

    // With partial, the good lines are declared and the bad ones reported.
    let partial = import(
        app,
        Some(&s.landlord),
        &format!("{}?partial=true", unit_import(dorm.id())),
        bytes,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(
        (partial["accepted"].as_u64(), partial["committed"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(partial.array("rejected").len(), 7);
    assert_eq!(app.count("tenancies"), 2);
    assert_eq!(unit_now(app, &s.landlord, dorm.id()).await["active_tenants"], 2);

    // A file without the columns it needs is refused whole, on its header line.
    let refused = import(
        app,
        Some(&s.landlord),
        &unit_import(dorm.id()),
        b"full_name,phone\nX,13912345678\n".to_vec(),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(
        rejected(&refused),
        vec![(1, "id_number".to_owned()), (1, "move_in_date".to_owned())]
    );
    // A property's file needs its unit column, and each line a unit of the property.
    let property_path = format!("/api/v1/properties/{}/tenancies/import", s.pid());
    let refused = import(
        app,
        Some(&s.landlord),
        &property_path,
        file(
            &ENGLISH_HEADER,
            &[worker("甲", &resident_id("19870707", 51), &date(0))],
            ",",
            false,
        ),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(rejected(&refused), vec![(1, "unit_label".to_owned())]);
    let unknown_unit = format!(
        "unit_label,full_name,id_number,move_in_date\n宿舍B,乙,{},{}\n不存在,丙,{},{}\n",
        resident_id("19870707", 53),
        date(0),
        resident_id("19870707", 55),
        date(0)
    );
    let refused = import(app, Some(&s.landlord), &property_path, unknown_unit.into_bytes())
        .await
        .expect(200)
        .body;
    assert_eq!(rejected(&refused), vec![(3, "unit_label".to_owned())]);
    assert_eq!(refused["committed"], false);
}

async fn a_dry_run_writes_nothing(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    let tiny = app.unit(&s.landlord, s.pid(), "小间", 6.0).await;
    let lines: Vec<Vec<String>> = (0..3)
        .map(|n| worker(&format!("试{n}"), &resident_id("19930909", 60 + n), &date(-10)))
        .collect();
    let before: Vec<i64> = ["tenancies", "audit_events", "notices"]
        .iter()
        .map(|t| app.count(t))
        .collect();
    let report = import(
        app,
        Some(&s.landlord),
        &format!("{}?dry_run=true", unit_import(tiny.id())),
        file(&ENGLISH_HEADER, &lines, ",", true),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(
        (
            report["accepted"].as_u64(),
            report["dry_run"].as_bool(),
            report["committed"].as_bool()
        ),
        (Some(3), Some(true), Some(false))
    );
    assert_eq!(report["created"], json!({"tenancies": 0}));
    assert_eq!(report["late_lines"], json!([2, 3, 4]), "what would happen is reported");
    assert_eq!(report["overcrowded_units"], json!([tiny.id()]));
    let after: Vec<i64> = ["tenancies", "audit_events", "notices"]
        .iter()
        .map(|t| app.count(t))
        .collect();
    assert_eq!(
        before, after,
        "a dry run writes nothing, not even a notice or an audit event"
    );
    assert_eq!(unit_now(app, &s.landlord, tiny.id()).await["active_tenants"], 0);
}

async fn duplicates_in_the_file_and_in_the_register_are_reported(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    let here = app.unit(&s.landlord, s.pid(), "201", 100.0).await;
    let there = app.unit(&s.landlord, s.pid(), "202", 100.0).await;
    let living_here = resident_id("19910101", 71);
    let living_there = resident_id("19910101", 73);
    let twice = resident_id("19910101", 75);
    app.declare(&s.landlord, here.id(), &living_here, &date(-1))
        .await
        .expect(201);
    app.declare(&s.landlord, there.id(), &living_there, &date(-1))
        .await
        .expect(201);
    let lines = vec![
        worker("重复甲", &twice, &date(0)),
        worker("已住乙", &living_here, &date(0)),
        worker("别处丙", &living_there, &date(0)),
        // The same person, the letter X in lower case: one person.
        worker("重复甲", &twice.to_lowercase(), &date(0)),
    ];
    let bytes = file(&ENGLISH_HEADER, &lines, ",", false);
    let path = format!("{}?partial=true", unit_import(here.id()));
    let report = import(app, Some(&s.admin), &path, bytes.clone()).await.expect(200).body;
    assert_eq!(
        rejected(&report),
        vec![(3, "id_number".to_owned()), (5, "id_number".to_owned())],
        "{report}"
    );
    let reasons: Vec<&str> = report.array("rejected").iter().map(|r| r.str("reason")).collect();
    assert_eq!(reasons[0], "this person already lives in this unit");
    assert_eq!(reasons[1], "the same person is already on line 2");
    assert_eq!(report["accepted"], 2);
    assert_eq!(
        report["duplicate_elsewhere_lines"],
        json!([4]),
        "as a single declaration's duplicate_elsewhere"
    );
    assert_eq!(unit_now(app, &s.landlord, here.id()).await["active_tenants"], 3);
    // The same file again: everyone now lives here.
    let again = import(app, Some(&s.landlord), &path, bytes).await.expect(200).body;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again.array("rejected").len(), 4);
    assert!(again.get("duplicate_elsewhere_lines").is_none(), "not for a landlord");
}

async fn late_and_overcrowded_as_single_declarations(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    // 6 m² holds one person; a single declaration into its twin sets the measure.
    let single = app.unit(&s.landlord, s.pid(), "单报", 6.0).await;
    let bulk = app.unit(&s.landlord, s.pid(), "批量", 6.0).await;
    let on_time = date(-3);
    let late = date(-4);
    let people: Vec<(String, String)> = (0..3)
        .map(|n| {
            (
                resident_id("19850505", 80 + n),
                if n == 1 { late.clone() } else { on_time.clone() },
            )
        })
        .collect();
    let mut singles = Vec::new();
    for (number, move_in) in &people {
        singles.push(
            app.declare(&s.landlord, single.id(), number, move_in)
                .await
                .expect(201)
                .body,
        );
    }
    let lines: Vec<Vec<String>> = people
        .iter()
        .enumerate()
        .map(|(n, (number, move_in))| worker(&format!("批{n}"), number, move_in))
        .collect();
    let report = import(
        app,
        Some(&s.landlord),
        &unit_import(bulk.id()),
        file(&ENGLISH_HEADER, &lines, ",", false),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(report["late_lines"], json!([3]));
    assert_eq!(report["overcrowded_units"], json!([bulk.id()]));
    let declared = app
        .get(
            &format!("/api/v1/tenancies?unit_id={}", bulk.id()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    let late_flags: Vec<bool> = declared
        .array("items")
        .iter()
        .map(|t| t["late"].as_bool().unwrap())
        .collect();
    let single_flags: Vec<bool> = singles.iter().map(|t| t["late"].as_bool().unwrap()).collect();
    assert_eq!(late_flags, single_flags, "the same lateness as single declarations");
    assert_eq!(late_flags, vec![false, true, false]);
    let (a, b) = (
        unit_now(app, &s.landlord, single.id()).await,
        unit_now(app, &s.landlord, bulk.id()).await,
    );
    assert_eq!(
        (&a["overcrowded"], &a["active_tenants"]),
        (&b["overcrowded"], &b["active_tenants"])
    );
    assert_eq!(b["overcrowded"], true);
    // The same notices as the single declarations queued: one late declaration, one overcrowding per unit
    // and week.
    let all = s.notices("").await;
    let kinds = |kind: &str| all.iter().filter(|n| n["kind"] == kind).count();
    assert_eq!((kinds("declaration_late"), kinds("overcrowding")), (2, 2));
}

async fn only_those_who_may_declare_import(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    let unit = app.unit(&s.landlord, s.pid(), "301", 100.0).await;
    let unit_path = unit_import(unit.id());
    let property_path = format!("/api/v1/properties/{}/tenancies/import", s.pid());
    let mut seq = 200;
    let mut next_file = |per_property: bool| {
        seq += 2;
        let number = resident_id("19960606", seq);
        if per_property {
            format!(
                "unit_label,full_name,id_number,move_in_date\n301,权限,{number},{}\n",
                date(0)
            )
            .into_bytes()
        } else {
            file(&ENGLISH_HEADER, &[worker("权限", &number, &date(0))], ",", false)
        }
    };
    let neighbour = app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let far = app.village(&s.admin).await;
    let far_auditor = app.user(&s.admin, "auditor", Some(far.id())).await;
    let far_landlord = app.user(&s.admin, "landlord", Some(far.id())).await;
    for per_property in [false, true] {
        let path = if per_property { &property_path } else { &unit_path };
        for (who, status) in [
            (&s.landlord, 200),
            (&s.admin, 200),
            (&s.auditor, 403),
            (&s.inspector, 403),
        ] {
            let answer = import(app, Some(who), path, next_file(per_property)).await;
            assert_eq!(answer.status, status, "{}: {}", who.user["role"], answer.body);
            if status == 200 {
                assert_eq!(answer.body["accepted"], 1);
            } else {
                answer.problem(status);
            }
        }
        for outsider in [&neighbour, &far_auditor, &far_landlord] {
            import(app, Some(outsider), path, next_file(per_property))
                .await
                .problem(404);
        }
        // A bad file sent where one may not declare says nothing of the file.
        import(app, Some(&neighbour), path, b"nonsense".to_vec())
            .await
            .problem(404);
        import(app, None, path, next_file(per_property)).await.problem(401);
        app.send_raw(
            "POST",
            path,
            Some(&s.landlord.token),
            "application/json",
            b"{}".to_vec(),
        )
        .await
        .problem(415);
    }
    assert_eq!(app.count("tenancies"), 4);

    // As for a single declaration: a suspended owner declares, an expelled one does not.
    let membership = format!("/api/v1/users/{}/membership", s.landlord.id());
    app.post(
        &membership,
        Some(&s.admin.token),
        json!({"action": "suspend", "reason": "会费"}),
    )
    .await
    .expect(200);
    import(app, Some(&s.landlord), &unit_path, next_file(false))
        .await
        .expect(200);
    app.post(
        &membership,
        Some(&s.admin.token),
        json!({"action": "expel", "reason": "造假"}),
    )
    .await
    .expect(200);
    let refused = import(app, Some(&s.landlord), &unit_path, next_file(false))
        .await
        .problem(403);
    assert!(refused.str("type").ends_with("membership-inactive"));
}

async fn too_big_or_too_long_files_are_refused(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    let unit = app.unit(&s.landlord, s.pid(), "401", 100.0).await;
    let path = unit_import(unit.id());
    let line = worker("多", &resident_id("19970707", 1), &date(0));
    let too_long = file(&ENGLISH_HEADER, &vec![line.clone(); 2_001], ",", false);
    let answer = import(app, Some(&s.landlord), &path, too_long).await;
    assert_eq!(answer.error_fields(), vec!["body"]);
    answer.problem(422);
    let too_big = vec![b'x'; (1 << 20) + 1];
    import(app, Some(&s.landlord), &path, too_big).await.problem(413);
    assert_eq!(app.count("tenancies"), 0);
    // 2,000 lines are taken (the same person on each: one declared, the others named duplicates).
    let longest = file(&ENGLISH_HEADER, &vec![line; 2_000], ",", false);
    let report = import(app, Some(&s.landlord), &format!("{path}?partial=true"), longest)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (report["accepted"].as_u64(), report.array("rejected").len()),
        (Some(1), 1_999)
    );
}

async fn a_repeated_import_with_its_key_declares_once(backend: Backend) {
    let s = Scene::new(backend).await;
    let app = &s.app;
    let unit = app.unit(&s.landlord, s.pid(), "501", 100.0).await;
    let bytes = file(
        &ENGLISH_HEADER,
        &[worker("一次", &resident_id("19890909", 91), &date(0))],
        ",",
        false,
    );
    let send = || {
        app.client
            .post(app.url(&unit_import(unit.id())))
            .insert_header(("Authorization", format!("Bearer {}", s.landlord.token)))
            .insert_header(("Content-Type", "text/csv"))
            .insert_header(("Idempotency-Key", "import-501"))
            .send_body(bytes.clone())
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    let second = send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(app.count("tenancies"), 1);
}

async fn the_imports_are_in_the_openapi_document(backend: Backend) {
    let app = TestApp::start(backend).await;
    let document = app.get("/api/openapi.json", None).await.expect(200).body;
    for path in [
        "/api/v1/units/{id}/tenancies/import",
        "/api/v1/properties/{id}/tenancies/import",
    ] {
        let post = &document["paths"][path]["post"];
        assert!(
            post["requestBody"]["content"]["text/csv"].is_object(),
            "{path}: a CSV body"
        );
        let parameters: Vec<&str> = post.array("parameters").iter().map(|p| p.str("name")).collect();
        assert_eq!(
            parameters,
            vec!["id", "dry_run", "partial", "Idempotency-Key"],
            "{path}"
        );
        let answer = &post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(answer, "#/components/schemas/TenancyImportReport");
        for status in ["401", "403", "404", "413", "415", "422"] {
            assert!(post["responses"][status].is_object(), "{path}: {status} declared");
        }
    }
}

backend_tests!(
    the_imports_are_in_the_openapi_document,
    a_good_file_declares_every_worker,
    bad_lines_are_named_by_line_and_column_never_by_value,
    a_dry_run_writes_nothing,
    duplicates_in_the_file_and_in_the_register_are_reported,
    late_and_overcrowded_as_single_declarations,
    only_those_who_may_declare_import,
    too_big_or_too_long_files_are_refused,
    a_repeated_import_with_its_key_declares_once,
);
