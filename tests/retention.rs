//! Personal data that expires (issue 16, part 3): tenancies that ended more than `ANZU_RETENTION_DAYS` ago lose
//! the tenant's name, identity number and its look-up hash, phone and employer, and nothing of them is left in
//! the database files; the dry run writes nothing.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Duration;
use common::scene::{Scene, date};
use common::{Backend, JsonExt, TestApp, resident_id};
use serde_json::{Value, json};

/// Declares a tenant moving in on `move_in` (days from today) and, when given, moving out on `move_out`.
async fn tenancy(
    s: &Scene,
    unit_id: &str,
    name: &str,
    number: &str,
    phone: &str,
    move_in: i64,
    move_out: Option<i64>,
) -> Value {
    let declared = s
        .app
        .post(
            &format!("/api/v1/units/{unit_id}/tenancies"),
            Some(&s.landlord.token),
            json!({"tenant": {"full_name": name, "id_type": "resident_id", "id_number": number, "phone": phone,
                              "origin": "四川省", "employer": "晋江鞋业"},
                   "move_in_date": date(move_in)}),
        )
        .await
        .expect(201)
        .body;
    if let Some(day) = move_out {
        s.app
            .post(
                &format!("/api/v1/tenancies/{}/move-out", declared.id()),
                Some(&s.landlord.token),
                json!({"move_out_date": date(day)}),
            )
            .await
            .expect(200);
    }
    declared
}

async fn tenancy_now(s: &Scene, id: &str) -> Value {
    s.app
        .get(&format!("/api/v1/tenancies/{id}"), Some(&s.auditor.token))
        .await
        .expect(200)
        .body
}

async fn identity_status(s: &Scene, id: &str) -> u16 {
    s.app
        .get(&format!("/api/v1/tenancies/{id}/identity"), Some(&s.auditor.token))
        .await
        .status
}

/// A text column of one row, straight from the table.
fn column(app: &TestApp, sql: &str) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).get_result::<Row>(&mut *conn).unwrap().value
}

/// Day 731 after the move-out is erased, day 730 is kept; the dry run counts and writes nothing; the erased
/// tenancy keeps its statistics, answers as erased, has no identity to read, and its late-declaration notice and
/// audit event lose what named the tenant; a second run erases nothing.
async fn the_purge_erases_what_ended_more_than_the_retention_period_ago(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 40.0).await;
    let gone = tenancy(
        &s,
        unit.id(),
        "退租甲",
        &resident_id("19900307", 11),
        "13900001111",
        -10,
        Some(-1),
    )
    .await;
    let kept = tenancy(
        &s,
        unit.id(),
        "留存乙",
        &resident_id("19850101", 21),
        "13900002222",
        -1,
        Some(0),
    )
    .await;
    let living = tenancy(
        &s,
        unit.id(),
        "在住丙",
        &resident_id("19950505", 31),
        "13900003333",
        -1,
        None,
    )
    .await;
    assert!(
        gone["late"].as_bool().unwrap(),
        "declared 10 days late: a notice names the tenant"
    );
    let in_730_days = anzu::ids::today() + Duration::days(730);
    let purge = |dry_run| anzu::retention::service::run(&s.app.db, 730, in_730_days, dry_run);

    let would = purge(true).await.unwrap();
    assert_eq!((would.tenancies, would.dry_run), (1, true));
    assert_eq!(would.villages.get(&s.village_id), Some(&1));
    assert_eq!(s.app.count("tenancies WHERE erased_at IS NOT NULL"), 0);
    assert_eq!(tenancy_now(&s, gone.id()).await["tenant"].str("full_name"), "退租甲");

    let done = purge(false).await.unwrap();
    assert_eq!((done.tenancies, done.notices, done.dry_run), (1, 1, false));
    let erased = tenancy_now(&s, gone.id()).await;
    assert!(erased["erased_at"].is_string(), "{erased}");
    assert_eq!(
        erased["tenant"],
        json!({"full_name": "", "id_type": "resident_id", "id_number_masked": "", "phone_masked": null,
               "gender": "male", "birth_year": 1990, "origin": "四川省", "employer": null})
    );
    assert_eq!(erased["move_in_date"], gone["move_in_date"]);
    assert_eq!(erased["move_out_date"], json!(date(-1)));
    assert_eq!(
        column(
            &s.app,
            &format!(
                "SELECT id_lookup || '|' || id_number_encrypted || '|' || CAST(birth_date AS TEXT) AS value FROM tenancies WHERE id = '{}'",
                gone.id()
            )
        ),
        "||1990-01-01"
    );
    assert_eq!(identity_status(&s, gone.id()).await, 409);
    for (other, name) in [(&kept, "留存乙"), (&living, "在住丙")] {
        let now = tenancy_now(&s, other.id()).await;
        assert!(now["erased_at"].is_null());
        assert_eq!(now["tenant"].str("full_name"), name);
        assert_eq!(identity_status(&s, other.id()).await, 200);
    }
    let notice = column(
        &s.app,
        &format!(
            "SELECT body_text || body_html AS value FROM notices WHERE dedupe_key = 'declaration_late:{}'",
            gone.id()
        ),
    );
    assert!(!notice.contains("退租甲") && notice.contains("erased"), "{notice}");
    let declared = column(
        &s.app,
        &format!(
            "SELECT detail AS value FROM audit_events WHERE action = 'tenancy.declared' AND entity_id = '{}'",
            gone.id()
        ),
    );
    assert!(
        !declared.contains("id_number_masked") && declared.contains("personal_data_erased"),
        "{declared}"
    );
    let recorded = column(
        &s.app,
        "SELECT detail AS value FROM audit_events WHERE action = 'tenancies.personal_data_erased'",
    );
    let recorded: Value = serde_json::from_str(&recorded).unwrap();
    assert_eq!(
        recorded,
        json!({"tenancies": 1, "ended_before": anzu::ids::today().to_string(), "retention_days": 730})
    );
    let purges = "audit_events WHERE action = 'tenancies.personal_data_erased'";
    assert_eq!(s.app.count(purges), 1);

    let again = purge(false).await.unwrap();
    assert_eq!(again.tenancies, 0);
    assert_eq!(s.app.count(purges), 1);
}

/// The raw bytes the database keeps: the SQLite file and its write-ahead log, or a PostgreSQL dump.
fn stored_bytes(app: &TestApp) -> Vec<u8> {
    let url = &app.state.settings.database_url;
    match app.backend {
        Backend::Sqlite => {
            let mut bytes = std::fs::read(url).unwrap();
            if let Ok(wal) = std::fs::read(format!("{url}-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        Backend::Postgres => {
            let dump = std::process::Command::new("pg_dump").arg(url).output().unwrap();
            assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
            dump.stdout
        }
    }
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

/// `anzu purge --dry-run` prints what it would erase and writes nothing; `anzu purge` erases it, and then neither
/// the names, the numbers, the phones nor their masks are anywhere in the database's files (SQLite without a
/// VACUUM: `secure_delete` zeroes what the purge overwrote) or in a PostgreSQL dump.
async fn nothing_erased_is_left_in_the_database_files(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 40.0).await;
    let numbers = [resident_id("19880808", 41), resident_id("19920202", 52)];
    let phones = ["13911112222", "13933334444"];
    let names = ["旧租客子丑", "旧租客寅卯"];
    let mut masks = Vec::new();
    for i in 0..2 {
        let declared = tenancy(&s, unit.id(), names[i], &numbers[i], phones[i], -100, Some(-40)).await;
        masks.push(declared["tenant"].str("id_number_masked").to_owned());
        masks.push(declared["tenant"].str("phone_masked").to_owned());
    }
    tenancy(
        &s,
        unit.id(),
        "现租客辰巳",
        &resident_id("19990909", 63),
        "13955556666",
        -5,
        None,
    )
    .await;
    let settings = [("ANZU_RETENTION_DAYS", "30")];

    let dry = s.app.anzu_command(&["purge", "--dry-run"], &settings).output().unwrap();
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let printed: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(
        (printed["tenancies"].as_i64(), printed["dry_run"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(s.app.count("tenancies WHERE erased_at IS NOT NULL"), 0);
    let before = stored_bytes(&s.app);
    assert!(
        names.iter().all(|name| holds(&before, name)),
        "the search finds what is stored"
    );

    let purge = s.app.anzu_command(&["purge"], &settings).output().unwrap();
    assert!(purge.status.success(), "{}", String::from_utf8_lossy(&purge.stderr));
    let printed = String::from_utf8_lossy(&purge.stdout);
    assert!(!names.iter().any(|name| printed.contains(name)), "{printed}");
    assert_eq!(s.app.count("tenancies WHERE erased_at IS NOT NULL"), 2);

    let after = stored_bytes(&s.app);
    assert!(holds(&after, "现租客辰巳"), "an active tenant is kept");
    for secret in names
        .iter()
        .chain(&phones)
        .map(|t| t.to_string())
        .chain(numbers.clone())
        .chain(masks)
    {
        assert!(!holds(&after, &secret), "{secret} is still stored");
    }
}

backend_tests!(
    the_purge_erases_what_ended_more_than_the_retention_period_ago,
    nothing_erased_is_left_in_the_database_files,
);
