//! The web console over plain HTTP, on both databases: signing in and out with a session cookie, CSRF and origin
//! checks on every form, idle expiry, revocation, the login throttle, and each role's start page.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::visitor::{Visitor, csrf_of};
use common::{Backend, JsonExt, PASSWORD};

fn email_of(session: &common::Session) -> String {
    session.user.str("email").to_owned()
}

async fn signing_in_and_out(backend: Backend) {
    let s = Scene::new(backend).await;
    let visitor = Visitor::new(&s.app);
    let away = visitor.get("/console/").await;
    assert_eq!((away.status, away.location.as_deref()), (303, Some("/console/login")));

    let form = visitor.get("/console/login").await;
    let csrf_cookie = visitor.last_set_cookies.borrow().join("\n");
    for attribute in ["anzu_login_csrf=", "HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(csrf_cookie.contains(attribute), "{attribute} in {csrf_cookie}");
    }
    assert!(form.body.contains("安租控制台"));

    let wrong = visitor.sign_in(&email_of(&s.landlord), "not the password at all").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("账号或密码不对") && wrong.body.contains(r#"role="alert""#));

    let signed_in = visitor.sign_in(&email_of(&s.landlord), PASSWORD).await;
    assert_eq!(
        (signed_in.status, signed_in.location.as_deref()),
        (303, Some("/console/"))
    );
    let session_cookie = visitor.last_set_cookies.borrow().join("\n");
    for attribute in ["anzu_console=", "HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session_cookie.contains(attribute), "{attribute} in {session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "no Secure flag over plain HTTP");
    let home = visitor.get("/console/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("我的出租房") && home.body.contains("Test landlord"),
        "{}",
        home.body
    );
    let stored_cookie = visitor.cookies.borrow()["anzu_console"].clone();

    let logout = visitor
        .post("/console/logout", &[("csrf", &csrf_of(&home.body))], &[])
        .await;
    assert_eq!(
        (logout.status, logout.location.as_deref()),
        (303, Some("/console/login"))
    );
    assert!(!visitor.cookies.borrow().contains_key("anzu_console"));
    // The session ended on the server: its old cookie opens nothing.
    visitor
        .cookies
        .borrow_mut()
        .insert("anzu_console".into(), stored_cookie);
    assert_eq!(visitor.get("/console/").await.status, 303);
}

async fn forms_from_elsewhere_are_refused(backend: Backend) {
    let s = Scene::new(backend).await;
    let visitor = Visitor::new(&s.app);
    let email = email_of(&s.landlord);
    let form = visitor.get("/console/login").await;
    let csrf = csrf_of(&form.body);
    // No token, another token, or a form posted from another site's page.
    for (fields, headers) in [
        (vec![("login", email.as_str()), ("password", PASSWORD)], vec![]),
        (
            vec![("login", email.as_str()), ("password", PASSWORD), ("csrf", "forged")],
            vec![],
        ),
        (
            vec![
                ("login", email.as_str()),
                ("password", PASSWORD),
                ("csrf", csrf.as_str()),
            ],
            vec![("Origin", "https://evil.example")],
        ),
    ] {
        let refused = visitor.post("/console/login", &fields, &headers).await;
        assert_eq!(refused.status, 403, "{fields:?} {headers:?}");
        assert!(refused.body.contains("不允许"));
        assert!(!visitor.cookies.borrow().contains_key("anzu_console"));
    }
    // Signed in, a sign-out without the session's token changes nothing.
    assert_eq!(visitor.sign_in(&email, PASSWORD).await.status, 303);
    let refused = visitor.post("/console/logout", &[("csrf", csrf.as_str())], &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(visitor.get("/console/").await.status, 200, "still signed in");
}

async fn sessions_end_when_idle_or_revoked(backend: Backend) {
    let s = Scene::with(backend, &[("ANZU_CONSOLE_IDLE_MINUTES", "30")]).await;
    // Deactivation ends the user's console sessions too.
    let auditor = Visitor::new(&s.app);
    assert_eq!(auditor.sign_in(&email_of(&s.auditor), PASSWORD).await.status, 303);
    assert_eq!(auditor.get("/console/").await.status, 200);
    let user = s
        .app
        .get(&format!("/api/v1/users/{}", s.auditor.id()), Some(&s.admin.token))
        .await
        .expect(200);
    let version = format!("\"{}\"", user.body["version"]);
    s.app
        .call(
            "POST",
            &format!("/api/v1/users/{}/deactivate", s.auditor.id()),
            Some(&s.admin.token),
            &[("If-Match", version.as_str())],
            Some(&serde_json::json!({"reason": "left the association"})),
        )
        .await
        .expect(200);
    assert_eq!(auditor.get("/console/").await.status, 303, "deactivated");

    let visitor = Visitor::new(&s.app);
    assert_eq!(visitor.sign_in(&email_of(&s.inspector), PASSWORD).await.status, 303);
    s.app.advance_clock(chrono::Duration::minutes(20));
    assert_eq!(visitor.get("/console/").await.status, 200, "activity keeps it");
    s.app.advance_clock(chrono::Duration::minutes(20));
    assert_eq!(
        visitor.get("/console/").await.status,
        200,
        "20 minutes after the last request"
    );
    s.app.advance_clock(chrono::Duration::minutes(31));
    assert_eq!(visitor.get("/console/").await.status, 303, "idle past 30 minutes");
}

async fn the_login_throttle_applies(backend: Backend) {
    let s = Scene::with(backend, &[("ANZU_LOGIN_MAX_FAILURES", "2")]).await;
    let visitor = Visitor::new(&s.app);
    let email = email_of(&s.landlord);
    for _ in 0..2 {
        assert_eq!(visitor.sign_in(&email, "wrong password here").await.status, 401);
    }
    let limited = visitor.sign_in(&email, PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.body.contains("查询太频繁") || limited.body.contains("Too many"));
}

async fn each_role_sees_its_start_page(backend: Backend) {
    let s = Scene::new(backend).await;
    // A second landlord's property, which the first must not see.
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let foreign = s.app.property(&other, &s.village_id).await;
    let own_code = s.property.str("registration_code").to_owned();
    let foreign_code = foreign.str("registration_code").to_owned();
    s.inspect(&date(0), &["ESC-02"]).await;
    // A third property rated no stars two months ago: a month past its next inspection.
    let late = s.app.property(&s.landlord, &s.village_id).await;
    s.inspect_property(late.id(), &date(-60), &["ESC-02"]).await;
    let order = s
        .app
        .get("/api/v1/rectifications?status=open", Some(&s.landlord.token))
        .await
        .expect(200)
        .body;
    let order = &order.array("items")[0];
    s.app
        .call(
            "POST",
            &format!("/api/v1/rectifications/{}/report", order.id()),
            Some(&s.landlord.token),
            &[],
            Some(&serde_json::json!({"note": "cleared the corridor"})),
        )
        .await
        .expect(200);

    let landlord = Visitor::new(&s.app);
    landlord.sign_in(&email_of(&s.landlord), PASSWORD).await;
    let page = landlord.get("/console/").await.body;
    assert!(page.contains("我的出租房") && page.contains(&own_code), "{page}");
    // The next step: the order reported fixed still counts until it is verified; a critical item is due next day.
    assert!(
        page.contains(&format!("Fix 1 item(s), the first by {}", date(1))),
        "{page}"
    );
    assert!(
        !page.contains(&foreign_code),
        "another landlord's property must not show"
    );

    let inspector = Visitor::new(&s.app);
    inspector.sign_in(&email_of(&s.inspector), PASSWORD).await;
    let page = inspector.get("/console/").await.body;
    assert!(page.contains("今日工作"), "{page}");
    assert!(page.contains(&foreign_code), "the never-rated property is due: {page}");
    assert!(page.contains(r#"id="to-verify""#) && page.contains("ESC-02"), "{page}");

    // This week: two declarations, one of them late (moved in ten days ago; the deadline is three days).
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 40.0).await;
    for (seq, moved_in) in [(1, date(0)), (2, date(-10))] {
        s.app
            .declare(&s.landlord, unit.id(), &common::resident_id("19880808", seq), &moved_in)
            .await
            .expect(201);
    }
    let summary = s
        .app
        .get(
            &format!("/api/v1/reports/summary?village_id={}", s.village_id),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    let auditor = Visitor::new(&s.app);
    auditor.sign_in(&email_of(&s.auditor), PASSWORD).await;
    let page = auditor.get("/console/").await.body;
    assert!(page.contains("村情一览"), "{page}");
    let number = |id: &str| {
        let found = regex::Regex::new(&format!(r#"id="{id}">(\d+)<"#)).unwrap();
        found.captures(&page).unwrap_or_else(|| panic!("{id} in {page}"))[1]
            .parse::<i64>()
            .unwrap()
    };
    assert_eq!(number("n-properties"), summary["properties"]["total"].as_i64().unwrap());
    assert_eq!(number("n-properties"), 3);
    assert_eq!(number("n-open"), summary["rectifications"]["open"].as_i64().unwrap());
    assert_eq!(
        number("n-inspections-overdue"),
        summary["inspections_overdue"].as_i64().unwrap()
    );
    assert_eq!(number("n-inspections-overdue"), 1);
    // The weekly chart: twelve weeks, the last (this one) with both declarations and the late one marked.
    let weeks = regex::Regex::new(r#"<g data-week="([0-9-]+)" data-declared="(\d+)" data-late="(\d+)">"#).unwrap();
    let columns: Vec<(String, i64, i64)> = weeks
        .captures_iter(&page)
        .map(|c| (c[1].to_owned(), c[2].parse().unwrap(), c[3].parse().unwrap()))
        .collect();
    assert_eq!(columns.len(), 12, "{page}");
    assert_eq!((columns[11].1, columns[11].2), (2, 1), "{columns:?}");
    assert!(columns[..11].iter().all(|c| c.1 == 0), "{columns:?}");
    assert!(columns[11].0.as_str() <= date(0).as_str() && columns[0].0 < columns[11].0);

    let admin = Visitor::new(&s.app);
    admin.sign_in(&email_of(&s.admin), PASSWORD).await;
    let page = admin.get("/console/").await.body;
    assert!(page.contains("村情一览") && page.contains("管理员"), "{page}");
}

/// A forgotten password from the sign-in page runs the API's reset flow: a one-time link for the account, the
/// same answer for an unknown login, the field's rule beside it, and no form from elsewhere.
async fn a_forgotten_password_from_the_console(backend: Backend) {
    let s = Scene::new(backend).await;
    let visitor = Visitor::new(&s.app);
    let sign_in = visitor.get("/console/login").await.body;
    assert!(sign_in.contains(r#"href="/console/forgot""#));
    let form = visitor.get("/console/forgot").await;
    assert_eq!(form.status, 200);
    let csrf = csrf_of(&form.body);
    let forged = visitor
        .post(
            "/console/forgot",
            &[("login", email_of(&s.landlord).as_str()), ("csrf", "forged")],
            &[],
        )
        .await;
    assert_eq!(forged.status, 403);
    let empty = visitor
        .post("/console/forgot", &[("login", " "), ("csrf", csrf.as_str())], &[])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains(r#"data-field="login""#), "{}", empty.body);
    let csrf = csrf_of(&empty.body);
    let unknown = visitor
        .post(
            "/console/forgot",
            &[("login", "nobody@example.org"), ("csrf", csrf.as_str())],
            &[],
        )
        .await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains(r#"id="sent""#));
    let csrf = csrf_of(&unknown.body);
    let sent = visitor
        .post(
            "/console/forgot",
            &[("login", email_of(&s.landlord).as_str()), ("csrf", csrf.as_str())],
            &[],
        )
        .await;
    assert_eq!((sent.status, sent.body.contains(r#"id="sent""#)), (200, true));
    let started = std::time::Instant::now();
    while s.app.count("password_tokens") < 1 && started.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        s.app.count("password_tokens"),
        1,
        "one link, for the known account only"
    );
}

backend_tests!(
    a_forgotten_password_from_the_console,
    signing_in_and_out,
    forms_from_elsewhere_are_refused,
    sessions_end_when_idle_or_revoked,
    the_login_throttle_applies,
    each_role_sees_its_start_page,
);

/// A landlord declares a tenant on the property's page: the API's rules refuse bad fields beside each field (the
/// entries kept), a good declaration lands and shows only the masked number; another landlord finds nothing.
async fn a_landlord_declares_a_tenant_in_the_console(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "301", 30.0).await;
    let visitor = Visitor::new(&s.app);
    visitor.sign_in(&email_of(&s.landlord), PASSWORD).await;
    let path = format!("/console/properties/{}", s.pid());
    let page = visitor.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("301") && page.body.contains("申报入住"),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page.body);
    let action = format!("/console/units/{}/tenancies", unit.id());
    // The declaration form as a browser sends it (no `csrf` when `csrf` is empty).
    let form = |csrf: &str, number: &str, phone: &str| -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("full_name", "王五".to_owned()),
            ("id_type", "resident_id".to_owned()),
            ("id_number", number.to_owned()),
            ("phone", phone.to_owned()),
            ("move_in_date", date(0)),
        ];
        if !csrf.is_empty() {
            fields.push(("csrf", csrf.to_owned()));
        }
        fields
    };

    let refused = visitor.post(&action, &form(&csrf, "123", "12"), &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    for field in ["id_number", "phone"] {
        assert!(
            refused.body.contains(&format!(r#"data-field="{field}""#)),
            "{field}: {}",
            refused.body
        );
    }
    assert!(!refused.body.contains(r#"data-field="full_name""#));
    assert!(refused.body.contains(r#"value="王五""#), "the entries are kept");

    let number = common::resident_id("19900307", 7);
    let form_id = regex::Regex::new(r#"name="form_id" value="([^"]+)""#)
        .unwrap()
        .captures(&refused.body)
        .unwrap()[1]
        .to_owned();
    let mut once = form(&csrf, &number, "");
    once.push(("form_id", form_id));
    let declared = visitor.post(&action, &once, &[]).await;
    assert_eq!(
        (declared.status, declared.location.clone()),
        (303, Some(format!("{path}?done=declared")))
    );
    // The same form sent again (a second click): answered as the first, nothing more declared.
    let resent = visitor.post(&action, &once, &[]).await;
    assert_eq!((resent.status, resent.location), (303, declared.location.clone()));
    assert_eq!(s.app.count("tenancies"), 1);
    let page = visitor.get(&format!("{path}?done=declared")).await.body;
    assert!(page.contains(r#"id="declared""#) && page.contains("王五"), "{page}");
    let tenancies = s
        .app
        .get(
            &format!("/api/v1/tenancies?unit_id={}", unit.id()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    let masked = tenancies.array("items")[0]["tenant"].str("id_number_masked").to_owned();
    assert!(page.contains(&masked), "the masked number {masked} is shown");
    assert!(!page.contains(&number), "never the full number");

    // The same person again in the same unit: the API's conflict, above the form.
    let again = visitor.post(&action, &form(&csrf, &number, ""), &[]).await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains(r#"data-field="form""#), "{}", again.body);
    // Without the session's token, nothing happens.
    let forged = visitor
        .post(&action, &form("", &common::resident_id("19910101", 5), ""), &[])
        .await;
    assert_eq!(forged.status, 403);

    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let stranger = Visitor::new(&s.app);
    stranger.sign_in(&email_of(&other), PASSWORD).await;
    assert_eq!(stranger.get(&path).await.status, 404, "another landlord's property");
    let page = stranger.get("/console/").await.body;
    let stranger_csrf = csrf_of(&page);
    let posted = stranger
        .post(
            &action,
            &form(&stranger_csrf, &common::resident_id("19910101", 3), ""),
            &[],
        )
        .await;
    assert_eq!(posted.status, 404, "another landlord's unit");
    assert_eq!(
        s.app
            .get(&format!("/api/v1/units/{}", unit.id()), Some(&s.landlord.token))
            .await
            .expect(200)
            .body["active_tenants"],
        1
    );
}

backend_tests!(a_landlord_declares_a_tenant_in_the_console);

/// The inspection form: the items that apply, each marked; an unmarked item is named beside it; a recorded
/// inspection rates the property and the public page shows it at once; a landlord cannot inspect.
async fn an_inspector_records_an_inspection_in_the_console(backend: Backend) {
    let s = Scene::new(backend).await;
    let code = s.property.str("registration_code").to_owned();
    let visitor = Visitor::new(&s.app);
    visitor.sign_in(&email_of(&s.inspector), PASSWORD).await;
    let form = visitor.get(&format!("/console/properties/{}/inspect", s.pid())).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = csrf_of(&form.body);
    let applicable = s.results(&[]).await;
    let codes: Vec<String> = applicable.iter().map(|r| r.str("item_code").to_owned()).collect();
    for code in &codes {
        assert!(form.body.contains(&format!(r#"name="outcome.{code}""#)), "{code}");
    }
    let action = format!("/console/properties/{}/inspections", s.pid());
    let form_id = regex::Regex::new(r#"name="form_id" value="([^"]+)""#)
        .unwrap()
        .captures(&form.body)
        .expect("a one-time form id")[1]
        .to_owned();
    let fields = |skip: Option<&str>, failing: &str| -> Vec<(String, String)> {
        let mut fields = vec![
            ("csrf".to_owned(), csrf.clone()),
            ("form_id".to_owned(), form_id.clone()),
            ("inspected_on".to_owned(), date(0)),
        ];
        for code in codes.iter().filter(|c| Some(c.as_str()) != skip) {
            let outcome = if code == failing { "fail" } else { "pass" };
            fields.push((format!("outcome.{code}"), outcome.to_owned()));
        }
        fields
    };
    let unmarked = fields(Some(&codes[0]), "ESC-04");
    let refused = visitor.post(&action, &unmarked, &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains(&format!(r#"data-field="{}""#, codes[0])),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="fail" checked"#), "the marks are kept");

    let complete = fields(None, "ESC-04");
    let before = s
        .app
        .get(&format!("/public/v1/ratings/{code}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(before["stars"], serde_json::Value::Null, "now cached as not rated");
    let recorded = visitor.post(&action, &complete, &[]).await;
    assert_eq!(
        (recorded.status, recorded.location.clone()),
        (303, Some(format!("/console/properties/{}?done=inspected", s.pid())))
    );
    // The same form sent again (a second click): the same answer, and nothing recorded twice (counted below).
    let again = visitor.post(&action, &complete, &[]).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let after = s
        .app
        .get(&format!("/public/v1/ratings/{code}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(
        after["stars"], 2,
        "a failed major item caps the rating at 2, shown at once"
    );
    let page = visitor
        .get(&format!("/console/properties/{}?done=inspected", s.pid()))
        .await
        .body;
    assert!(page.contains(r#"id="inspected""#) && page.contains("★★☆☆☆"), "{page}");

    let landlord = Visitor::new(&s.app);
    landlord.sign_in(&email_of(&s.landlord), PASSWORD).await;
    let page = landlord.get(&format!("/console/properties/{}", s.pid())).await.body;
    assert!(!page.contains(r#"id="inspect""#), "no inspection link for a landlord");
    let landlord_csrf = csrf_of(&page);
    let mut theirs: Vec<(String, String)> = complete.iter().filter(|(k, _)| k != "csrf").cloned().collect();
    theirs.push(("csrf".to_owned(), landlord_csrf));
    let refused = landlord.post(&action, &theirs, &[]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains(r#"data-field="form""#), "{}", refused.body);
    let inspections = s
        .app
        .get(
            &format!("/api/v1/properties/{}/inspections", s.pid()),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(inspections.array("items").len(), 1, "the inspector's, once");
}

backend_tests!(an_inspector_records_an_inspection_in_the_console);

/// Behind a TLS proxy: the browser names the public origin (`https://…`, from `ANZU_PUBLIC_BASE_URL`) though the
/// proxy speaks plain HTTP to the service; that origin signs in, and the cookie is `Secure`.
async fn behind_a_tls_proxy_the_public_origin_signs_in(backend: Backend) {
    let s = Scene::with(backend, &[("ANZU_PUBLIC_BASE_URL", "https://anzu.donghu.example.cn/")]).await;
    let visitor = Visitor::new(&s.app);
    let form = visitor.get("/console/login").await;
    assert!(visitor.last_set_cookies.borrow().join("\n").contains("Secure"));
    let csrf = csrf_of(&form.body);
    let email = email_of(&s.landlord);
    let fields = [
        ("login", email.as_str()),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let other = visitor
        .post(
            "/console/login",
            &fields,
            &[("Origin", "https://evil.donghu.example.cn")],
        )
        .await;
    assert_eq!(other.status, 403);
    let signed_in = visitor
        .post(
            "/console/login",
            &fields,
            &[("Origin", "https://anzu.donghu.example.cn")],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert!(visitor.last_set_cookies.borrow().join("\n").contains("Secure"));
}

backend_tests!(behind_a_tls_proxy_the_public_origin_signs_in);
