//! The console's lists and a property's record over plain HTTP, on both databases: the rectifications-by-grid
//! chart, the property search and its filters, orders overdue first, late declarations, overcrowded units; a
//! property's inspections, orders, audit trail, the audited identity reveal, move-outs, reported and verified
//! fixes, the plaque to print; each in the caller's scope, each form refused from elsewhere.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::visitor::{Visitor, csrf_of};
use common::{Backend, JsonExt, PASSWORD, Session};
use serde_json::{Value, json};

async fn signed_in(s: &Scene, who: &Session) -> Visitor {
    let visitor = Visitor::new(&s.app);
    let answer = visitor.sign_in(who.user.str("email"), PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    visitor
}

/// A grid of the village, and a second block of the landlord's in it, named `name`.
async fn block_in_grid(s: &Scene, name: &str) -> (Value, Value) {
    let grid = s
        .app
        .post(
            &format!("/api/v1/villages/{}/grids", s.village_id),
            Some(&s.admin.token),
            json!({"name": "第一网格", "code": "G1"}),
        )
        .await
        .expect(201)
        .body;
    let block = s
        .app
        .post(
            "/api/v1/properties",
            Some(&s.landlord.token),
            json!({"name": name, "address": "花厅口村南路3号", "village_id": s.village_id, "grid_id": grid.id(),
                   "kind": "apartment", "floors": 3, "floor_area_m2": 300.0, "mixed_use_residence": false}),
        )
        .await
        .expect(201)
        .body;
    (grid, block)
}

/// The first capture of `pattern` in `page`, as a number.
fn number(page: &str, pattern: &str) -> i64 {
    regex::Regex::new(pattern)
        .unwrap()
        .captures(page)
        .unwrap_or_else(|| panic!("{pattern} in {page}"))[1]
        .parse()
        .unwrap()
}

/// Registration codes a list page links to, in order.
fn codes(page: &str) -> Vec<String> {
    regex::Regex::new(r#"data-code="([A-Z0-9-]+)""#)
        .unwrap()
        .captures_iter(page)
        .map(|c| c[1].to_owned())
        .collect()
}

/// The dashboard counts each grid's open and overdue orders; the property list searches by words and filters by
/// status, stars and grid, refusing a filter that breaks the API's rule beside its field.
async fn the_dashboard_by_grid_and_the_property_search(backend: Backend) {
    let s = Scene::new(backend).await;
    let (grid, block) = block_in_grid(&s, "南区公寓").await;
    let block_code = block.str("registration_code").to_owned();
    s.inspect_property(block.id(), &date(0), &["ESC-02"]).await;
    s.inspect(&date(0), &["ESC-02", "GAS-03"]).await;
    let summary = s
        .app
        .get("/api/v1/reports/summary", Some(&s.auditor.token))
        .await
        .expect(200)
        .body;

    let auditor = signed_in(&s, &s.auditor).await;
    let page = auditor.get("/console/").await.body;
    let open_in = |grid: &str| {
        number(
            &page,
            &format!(r#"<tr data-grid="{grid}"><th>[^<]*</th><td class="open">(\d+)<"#),
        )
    };
    assert_eq!(open_in("G1"), 1, "{page}");
    assert_eq!(open_in(""), 2, "the block in no grid: {page}");
    assert_eq!(
        open_in("G1") + open_in(""),
        summary["rectifications"]["open"].as_i64().unwrap()
    );
    assert!(page.contains(r#"id="chart-grids""#) && page.contains(r#"data-grid="G1" data-open="1""#));

    let found = auditor.get("/console/properties?q=%E5%8D%97%E5%8C%BA").await;
    assert_eq!((found.status, codes(&found.body)), (200, vec![block_code.clone()]));
    let found = auditor.get(&format!("/console/properties?grid={}", grid.id())).await;
    assert_eq!(codes(&found.body), vec![block_code.clone()]);
    let found = auditor.get("/console/properties?status=rectification").await;
    assert_eq!(codes(&found.body).len(), 2, "{}", found.body);
    let found = auditor.get("/console/properties?status=delisted").await;
    assert!(codes(&found.body).is_empty() && found.body.contains("properties-none"));
    let refused = auditor.get("/console/properties?stars=9").await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains(r#"data-field="stars""#), "{}", refused.body);
    let refused = auditor.get("/console/properties?status=burning").await;
    assert!(refused.status == 400 && refused.body.contains(r#"data-field="status""#));

    // Another landlord finds nothing of these; no session, no list.
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let stranger = signed_in(&s, &other).await;
    assert!(codes(&stranger.get("/console/properties").await.body).is_empty());
    let nobody = Visitor::new(&s.app).get("/console/properties").await;
    assert_eq!(nobody.location.as_deref(), Some("/console/login"));
}

/// Orders overdue first, then by due date; late declarations with masked numbers; overcrowded units — each in
/// the caller's scope.
async fn orders_late_declarations_and_overcrowded_units(backend: Backend) {
    let s = Scene::new(backend).await;
    let (_, block) = block_in_grid(&s, "南区公寓").await;
    // The block was inspected a month ago: its order is past its deadline, and the sweep marks it overdue.
    s.inspect_property(block.id(), &date(-30), &["ESC-02"]).await;
    s.inspect(&date(0), &["ESC-02"]).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 10.0).await;
    let late_id = common::resident_id("19880808", 1);
    for (seq, moved_in) in [(1, date(-10)), (2, date(0)), (3, date(0))] {
        let number = common::resident_id("19880808", seq);
        s.app
            .declare(&s.landlord, unit.id(), &number, &moved_in)
            .await
            .expect(201);
    }
    let auditor = signed_in(&s, &s.auditor).await;
    let page = auditor.get("/console/declarations/late").await.body;
    assert_eq!(page.matches("<tr><td>").count(), 1, "{page}");
    assert!(
        page.contains(s.code()) && !page.contains(&late_id),
        "the number stays masked: {page}"
    );
    let page = auditor.get("/console/units/overcrowded").await.body;
    assert!(page.contains(r#"<tr data-label="101">"#), "{page}");
    let allowed = unit["max_occupants"].as_i64().unwrap();
    assert!(allowed < 3 && page.contains(&format!(">3 / {allowed}<")), "{page}");

    s.app
        .call("POST", "/api/v1/compliance/sweep", Some(&s.admin.token), &[], None)
        .await
        .expect(200);
    let page = auditor.get("/console/rectifications").await.body;
    let statuses: Vec<String> = regex::Regex::new(r#"data-status="([a-z]+)""#)
        .unwrap()
        .captures_iter(&page)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(statuses, ["overdue", "open"], "{page}");
    let chosen = auditor.get("/console/rectifications?status=open").await.body;
    assert_eq!(chosen.matches(r#"data-status="open""#).count(), 1, "{chosen}");
    let refused = auditor.get("/console/rectifications?status=burning").await;
    assert!(refused.status == 400 && refused.body.contains(r#"data-field="status""#));

    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let stranger = signed_in(&s, &other).await;
    for path in [
        "/console/rectifications",
        "/console/declarations/late",
        "/console/units/overcrowded",
    ] {
        let page = stranger.get(path).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains(s.code()) && !page.body.contains("data-status="),
            "{path}: {}",
            page.body
        );
    }
}

/// The fields of a form that acts on `id`, with the page's CSRF token and the row's version.
fn act(page: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = vec![("csrf".to_owned(), csrf_of(page))];
    fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    fields
}

/// The version a page's form carries for the row it acts on.
fn version_in(page: &str, action: &str) -> String {
    let pattern = format!(
        r#"action="{}"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]+"><input type="hidden" name="version" value="(\d+)""#,
        regex::escape(action)
    );
    number(page, &pattern).to_string()
}

/// A landlord reports a fix and an inspector verifies it on the property's page; the page lists the inspection's
/// failed items and, for auditors only, the audit trail; stale or empty forms are refused above the form.
async fn fixes_are_reported_and_verified_on_the_property_page(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(0), &["ESC-02"]).await;
    let order = s
        .app
        .get("/api/v1/rectifications", Some(&s.landlord.token))
        .await
        .expect(200)
        .body;
    let order = order.array("items")[0].id().to_owned();
    let path = format!("/console/properties/{}", s.pid());
    let report = format!("/console/rectifications/{order}/report");
    let verify = format!("/console/rectifications/{order}/verify");

    let landlord = signed_in(&s, &s.landlord).await;
    let page = landlord.get(&path).await.body;
    assert!(page.contains(r#"class="failed-item" data-code="ESC-02""#), "{page}");
    assert!(page.contains(&report) && !page.contains(&verify) && !page.contains(r#"id="audit""#));
    let version = version_in(&page, &report);
    let empty = landlord
        .post(&report, &act(&page, &[("version", &version), ("note", " ")]), &[])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains(&format!(r#"data-form="report-{order}""#)) && empty.body.contains("note"));
    let forged = landlord
        .post(&report, &[("version", version.as_str()), ("note", "清理了通道")], &[])
        .await;
    assert_eq!(forged.status, 403);
    let done = landlord
        .post(
            &report,
            &act(&page, &[("version", &version), ("note", "清理了通道")]),
            &[],
        )
        .await;
    assert_eq!(done.location, Some(format!("{path}?done=reported")));
    let stale = landlord
        .post(&report, &act(&page, &[("version", &version), ("note", "again")]), &[])
        .await;
    assert!(stale.status == 409 || stale.status == 412, "{}", stale.status);
    assert!(stale.body.contains(r#"id="refused""#));

    // Another landlord cannot even find the order.
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let stranger = signed_in(&s, &other).await;
    let own = stranger.get("/console/").await.body;
    let refused = stranger
        .post(
            &verify,
            &act(&own, &[("version", "1"), ("resolved", "yes"), ("note", "x")]),
            &[],
        )
        .await;
    assert_eq!(refused.status, 404);

    let inspector = signed_in(&s, &s.inspector).await;
    let page = inspector.get(&path).await.body;
    assert!(page.contains(&verify) && !page.contains(&report), "{page}");
    let version = version_in(&page, &verify);
    let unchosen = inspector
        .post(&verify, &act(&page, &[("version", &version), ("note", "看过")]), &[])
        .await;
    assert_eq!(unchosen.status, 422, "{}", unchosen.body);
    let done = inspector
        .post(
            &verify,
            &act(
                &page,
                &[("version", &version), ("resolved", "yes"), ("note", "通道已畅通")],
            ),
            &[],
        )
        .await;
    assert_eq!(done.location, Some(format!("{path}?done=verified")));
    let now = s
        .app
        .get(
            &format!("/api/v1/rectifications?property_id={}", s.pid()),
            Some(&s.landlord.token),
        )
        .await
        .body;
    assert_eq!(now.array("items")[0]["status"], "resolved");

    let auditor = signed_in(&s, &s.auditor).await;
    let page = auditor.get(&path).await.body;
    assert!(
        page.contains(r#"id="audit""#) && page.contains("rectification"),
        "{page}"
    );
}

/// An auditor reads a tenant's number (and the read is audited); a landlord records a move-out; neither works
/// for anyone else, nor without the form's token.
async fn identity_reveal_move_out_and_plaque(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 40.0).await;
    let number = common::resident_id("19880808", 1);
    let tenancy = s
        .app
        .declare(&s.landlord, unit.id(), &number, &date(-2))
        .await
        .expect(201)
        .body;
    let path = format!("/console/properties/{}", s.pid());
    let reveal = format!("/console/tenancies/{}/identity", tenancy.id());
    let move_out = format!("/console/tenancies/{}/move-out", tenancy.id());
    let reads = || s.app.count("audit_events");

    let auditor = signed_in(&s, &s.auditor).await;
    let page = auditor.get(&path).await.body;
    assert!(
        page.contains(&reveal) && !page.contains(&number),
        "masked until asked: {page}"
    );
    let before = reads();
    let shown = auditor.post(&reveal, &act(&page, &[]), &[]).await;
    assert_eq!(shown.status, 200);
    assert!(
        shown
            .body
            .contains(&format!(r#"<span class="revealed" id="revealed">{number}</span>"#))
    );
    assert_eq!(reads(), before + 1, "the read is audited");
    assert!(auditor.post(&reveal, &[("csrf", "forged")], &[]).await.status == 403);
    assert_eq!(reads(), before + 1);

    let landlord = signed_in(&s, &s.landlord).await;
    let page = landlord.get(&path).await.body;
    assert!(!page.contains(&reveal) && page.contains(&move_out));
    let refused = landlord.post(&reveal, &act(&page, &[]), &[]).await;
    assert!(
        refused.status == 403 && !refused.body.contains(&number),
        "{}",
        refused.status
    );
    let version = version_in(&page, &move_out);
    let early = landlord
        .post(
            &move_out,
            &act(&page, &[("version", &version), ("move_out_date", &date(-5))]),
            &[],
        )
        .await;
    assert_eq!(early.status, 422, "before the move-in: {}", early.body);
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let stranger = signed_in(&s, &other).await;
    let own = stranger.get("/console/").await.body;
    let foreign = stranger
        .post(
            &move_out,
            &act(&own, &[("version", &version), ("move_out_date", &date(0))]),
            &[],
        )
        .await;
    assert_eq!(foreign.status, 404);
    assert_eq!(stranger.get(&format!("{path}/plaque")).await.status, 404);
    let elsewhere = landlord
        .post(
            &move_out,
            &act(&page, &[("version", &version), ("move_out_date", &date(0))]),
            &[("Origin", "http://evil.example")],
        )
        .await;
    assert_eq!(elsewhere.status, 403);
    let tenancy_now = || async {
        s.app
            .get(&format!("/api/v1/tenancies/{}", tenancy.id()), Some(&s.landlord.token))
            .await
            .expect(200)
            .body
    };
    assert!(tenancy_now().await["move_out_date"].is_null(), "nothing changed yet");
    let done = landlord
        .post(
            &move_out,
            &act(&page, &[("version", &version), ("move_out_date", &date(0))]),
            &[],
        )
        .await;
    assert_eq!(done.location, Some(format!("{path}?done=moved_out")));
    assert_eq!(tenancy_now().await["move_out_date"], date(0));

    let plaque = landlord.get(&format!("{path}/plaque")).await;
    assert_eq!(plaque.status, 200);
    assert!(
        plaque
            .body
            .contains(&format!(r#"src="/public/v1/ratings/{}/plaque.svg""#, s.code())),
        "{}",
        plaque.body
    );
}

/// An inspector records a grid patrol once per form; an issue needs its note (shown beside the property); other
/// roles, another village's inspector and forms from elsewhere record nothing.
async fn an_inspector_records_a_patrol(backend: Backend) {
    let s = Scene::new(backend).await;
    let (grid, block) = block_in_grid(&s, "南区公寓").await;
    let action = format!("/console/grids/{}/patrols", grid.id());
    let patrols = || s.app.count("patrols");
    let inspector = signed_in(&s, &s.inspector).await;
    let page = inspector.get("/console/patrols/new").await.body;
    assert!(page.contains(&format!(r#"<option value="{}""#, grid.id())), "{page}");
    let page = inspector
        .get(&format!("/console/patrols/new?grid={}", grid.id()))
        .await
        .body;
    assert!(page.contains(&format!(r#"data-property="{}""#, block.id())) && !page.contains(s.code()));
    let form_id = regex::Regex::new(r#"name="form_id" value="([^"]+)""#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_owned();
    let finding = format!("finding.{}", block.id());
    let issue = act(
        &page,
        &[("form_id", &form_id), ("patrolled_on", &date(0)), (&finding, "issue")],
    );
    let refused = inspector.post(&action, &issue, &[]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains(&format!(r#"data-field="{}""#, block.id())),
        "{}",
        refused.body
    );
    assert_eq!(patrols(), 0);
    let elsewhere = inspector
        .post(&action, &issue, &[("Origin", "http://evil.example")])
        .await;
    assert_eq!((elsewhere.status, patrols()), (403, 0));
    let note = format!("note.{}", block.id());
    let fine = act(
        &page,
        &[
            ("form_id", &form_id),
            ("patrolled_on", &date(0)),
            (&finding, "issue"),
            (&note, "楼道堆放电动车"),
        ],
    );
    let done = inspector.post(&action, &fine, &[]).await;
    assert_eq!(
        done.location,
        Some(format!("/console/patrols/new?grid={}&done=1", grid.id()))
    );
    let again = inspector.post(&action, &fine, &[]).await;
    assert_eq!((again.status, patrols()), (303, 1), "the same form records once");
    let listed = s
        .app
        .get(
            &format!("/api/v1/grids/{}/patrols", grid.id()),
            Some(&s.inspector.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed.array("items")[0]["visits"][0]["note"], "楼道堆放电动车");

    for who in [&s.landlord, &s.auditor] {
        let visitor = signed_in(&s, who).await;
        assert_eq!(visitor.get("/console/patrols/new").await.status, 403);
        let own = visitor.get("/console/").await.body;
        let fields = act(&own, &[("patrolled_on", &date(0)), (&finding, "ok")]);
        assert_eq!(visitor.post(&action, &fields, &[]).await.status, 403);
    }
    let elsewhere = s.app.setup_village().await;
    let stranger = s.app.user(&elsewhere.admin, "inspector", Some(&elsewhere.id)).await;
    let stranger = signed_in(&s, &stranger).await;
    let own = stranger.get("/console/patrols/new").await.body;
    assert!(!own.contains(grid.id()));
    let fields = act(&own, &[("patrolled_on", &date(0)), (&finding, "ok")]);
    assert_eq!(stranger.post(&action, &fields, &[]).await.status, 404);
    assert_eq!(patrols(), 1);
}

/// What the console's script asks: the inspection preview rates as the recorded inspection then is; the
/// declaration check names a field's problem without declaring; both for the session's own forms and objects only.
/// The script is served under the console's policy; the public page still allows no script.
async fn the_scripts_helpers_answer_by_the_servers_rules(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspector = signed_in(&s, &s.inspector).await;
    let form = inspector.get(&format!("/console/properties/{}/inspect", s.pid())).await;
    let policy = regex::Regex::new(r#"<script src="(/static/console-[0-9a-f]+\.js)" defer>"#).unwrap();
    let script = policy
        .captures(&form.body)
        .expect("the page loads the console's script")[1]
        .to_owned();
    let codes: Vec<String> = regex::Regex::new(r#"name="outcome\.([A-Z]+-\d+)" value="pass""#)
        .unwrap()
        .captures_iter(&form.body)
        .map(|c| c[1].to_owned())
        .collect();
    let form_id = regex::Regex::new(r#"name="form_id" value="([^"]+)""#)
        .unwrap()
        .captures(&form.body)
        .unwrap()[1]
        .to_owned();
    let mut fields = act(&form.body, &[("inspected_on", &date(0)), ("form_id", &form_id)]);
    for code in &codes {
        let outcome = if code == "GAS-03" { "fail" } else { "pass" };
        fields.push((format!("outcome.{code}"), outcome.to_owned()));
    }
    let preview_path = format!("/console/properties/{}/inspect/preview", s.pid());
    let preview = inspector.post(&preview_path, &fields, &[]).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let preview: Value = serde_json::from_str(&preview.body).unwrap();
    assert_eq!(preview["marked"], codes.len());
    assert_eq!(s.app.count("inspections"), 0, "a preview records nothing");
    let recorded = inspector
        .post(&format!("/console/properties/{}/inspections", s.pid()), &fields, &[])
        .await;
    assert_eq!(recorded.status, 303);
    let inspections = s
        .app
        .get(
            &format!("/api/v1/properties/{}/inspections", s.pid()),
            Some(&s.inspector.token),
        )
        .await
        .expect(200)
        .body;
    let inspection = &inspections.array("items")[0];
    assert_eq!(
        (&preview["score"], &preview["stars"]),
        (&inspection["score"], &inspection["stars"])
    );
    assert!(inspector.post(&preview_path, &[("csrf", "forged")], &[]).await.status == 403);

    let unit = s.app.unit(&s.landlord, s.pid(), "101", 40.0).await;
    let check = format!("/console/units/{}/tenancies/check", unit.id());
    let landlord = signed_in(&s, &s.landlord).await;
    let page = landlord.get(&format!("/console/properties/{}", s.pid())).await.body;
    let number = common::resident_id("19900101", 7);
    let wrong = format!("{}{}", &number[..17], if number.ends_with('1') { '2' } else { '1' });
    let typed = |id: &str| {
        act(
            &page,
            &[
                ("full_name", "陈小明"),
                ("id_type", "resident_id"),
                ("id_number", id),
                ("phone", ""),
                ("move_in_date", &date(0)),
            ],
        )
    };
    let answer: Value = serde_json::from_str(&landlord.post(&check, &typed(&wrong), &[]).await.body).unwrap();
    assert!(answer["errors"]["id_number"].is_string(), "{answer}");
    assert!(answer["errors"].get("full_name").is_none(), "{answer}");
    let answer: Value = serde_json::from_str(&landlord.post(&check, &typed(&number), &[]).await.body).unwrap();
    assert_eq!(answer["errors"], json!({}));
    assert_eq!(s.app.count("tenancies"), 0, "a check declares nothing");
    assert_eq!(
        landlord.post(&check, &typed(&number)[1..].to_vec(), &[]).await.status,
        403,
        "no token"
    );
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let stranger = signed_in(&s, &other).await;
    let own = stranger.get("/console/").await.body;
    let foreign = act(
        &own,
        &[
            ("full_name", "x"),
            ("id_type", "resident_id"),
            ("id_number", &number),
            ("phone", ""),
            ("move_in_date", &date(0)),
        ],
    );
    assert_eq!(stranger.post(&check, &foreign, &[]).await.status, 404);

    let asset = s.app.get(&script, None).await.expect(200);
    assert!(asset.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(asset.header("cache-control").unwrap().contains("immutable"));
    let console_policy = s
        .app
        .get("/console/login", None)
        .await
        .header("content-security-policy")
        .unwrap();
    assert!(
        console_policy.contains("script-src 'self'") && !console_policy.contains("unsafe"),
        "{console_policy}"
    );
    let public_policy = s
        .app
        .get(&format!("/r/{}", s.code()), None)
        .await
        .header("content-security-policy")
        .unwrap();
    assert!(!public_policy.contains("script-src"), "{public_policy}");
}

/// An inspector's start page lists what is due: never rated, and ratings that run out within 30 days, each
/// linked; a rating good for long is not listed.
async fn the_inspectors_start_page_lists_expiring_ratings(backend: Backend) {
    // Five stars are good for 12 months here: inspected 350 days ago, the rating runs out within the month.
    let rules = r#"{"validity_months_by_stars": [0, 3, 6, 12, 12, 12]}"#;
    let s = Scene::with(backend, &[("ANZU_RATING_RULES", rules)]).await;
    let (_, block) = block_in_grid(&s, "南区公寓").await;
    s.inspect_property(block.id(), &date(-350), &[]).await;
    s.inspect(&date(0), &[]).await;
    let inspector = signed_in(&s, &s.inspector).await;
    let page = inspector.get("/console/").await.body;
    assert_eq!(codes(&page), vec![block.str("registration_code").to_owned()], "{page}");
}

backend_tests!(
    the_inspectors_start_page_lists_expiring_ratings,
    the_scripts_helpers_answer_by_the_servers_rules,
    an_inspector_records_a_patrol,
    the_dashboard_by_grid_and_the_property_search,
    orders_late_declarations_and_overcrowded_units,
    fixes_are_reported_and_verified_on_the_property_page,
    identity_reveal_move_out_and_plaque,
);
