//! The console's members, staff and notices over plain HTTP, on both databases: membership decisions and staff
//! deactivation through the API's services (field errors, stale versions and conflicts shown on the page), what
//! each role may see and do, the notice list in the API's scope, and retrying a failed notice.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::Scene;
use common::visitor::{Page, Visitor, csrf_of};
use common::{Backend, JsonExt, PASSWORD, Session, SmtpServer, TestApp};

fn email_of(session: &Session) -> String {
    session.user.str("email").to_owned()
}

/// A visitor signed in to the console as `session`'s user.
async fn signed_in(app: &TestApp, session: &Session) -> Visitor {
    let visitor = Visitor::new(app);
    let answer = visitor.sign_in(&email_of(session), PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    visitor
}

/// The list item of the page whose id is `id` (`user-…`, `notice-…`); empty when the page does not list it.
fn item<'a>(html: &'a str, id: &str) -> &'a str {
    let Some(start) = html.find(&format!(r#"<li id="{id}""#)) else {
        return "";
    };
    let end = html[start..].find("</li>").map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// A `data-` attribute of a list item.
fn data(item: &str, name: &str) -> String {
    regex::Regex::new(&format!(r#"data-{name}="([^"]*)""#))
        .unwrap()
        .captures(item)
        .unwrap_or_else(|| panic!("data-{name} in {item}"))[1]
        .to_owned()
}

/// The hidden version of a list item's form `form` (`approve`…, `active`).
fn version_in(item: &str, form: &str) -> String {
    let start = item
        .find(&format!(r#"data-form="{form}""#))
        .unwrap_or_else(|| panic!("a {form} form in {item}"));
    regex::Regex::new(r#"name="version" value="(\d+)""#)
        .unwrap()
        .captures(&item[start..])
        .unwrap()[1]
        .to_owned()
}

/// The user as the API shows them to the admin.
async fn user_now(s: &Scene, id: &str) -> serde_json::Value {
    s.app
        .get(&format!("/api/v1/users/{id}"), Some(&s.admin.token))
        .await
        .expect(200)
        .body
}

/// Posts a membership decision from the console.
async fn decide(visitor: &Visitor, user_id: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
    visitor
        .post(&format!("/console/users/{user_id}/membership"), &fields, headers)
        .await
}

async fn an_admin_approves_a_pending_landlord(backend: Backend) {
    let s = Scene::new(backend).await;
    let pending = s.app.registered_landlord(&s.village_id).await;
    let admin = signed_in(&s.app, &s.admin).await;
    let page = admin.get("/console/members").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"aria-current="page">会员"#));
    let (waiting, member) = (format!("user-{}", pending.id()), format!("user-{}", s.landlord.id()));
    assert!(
        page.body.find(&waiting).unwrap() < page.body.find(&member).unwrap(),
        "the application on top"
    );
    let row = item(&page.body, &waiting);
    assert_eq!(data(row, "status"), "pending");
    assert!(row.contains("待审批") && row.contains("awaiting approval"));
    // Only the moves the state machine allows from each status.
    for (form, offered) in [
        ("approve", true),
        ("expel", true),
        ("suspend", false),
        ("reinstate", false),
    ] {
        assert_eq!(
            row.contains(&format!(r#"data-form="{form}""#)),
            offered,
            "{form} for pending"
        );
    }
    let active_row = item(&page.body, &member);
    for (form, offered) in [
        ("approve", false),
        ("suspend", true),
        ("expel", true),
        ("reinstate", false),
    ] {
        assert_eq!(
            active_row.contains(&format!(r#"data-form="{form}""#)),
            offered,
            "{form} for active"
        );
    }

    let version = version_in(row, "approve");
    let csrf = csrf_of(&page.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("action", "approve"),
        ("reason", "入会材料齐全"),
    ];
    let done = decide(&admin, &pending.id(), &fields, &[]).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/console/members?done=approve"))
    );
    assert_eq!(user_now(&s, &pending.id()).await.str("membership_status"), "active");
    let after = admin.get("/console/members?done=approve").await;
    assert!(after.body.contains(r#"id="done""#) && after.body.contains("已批准入会"));
    assert_eq!(data(item(&after.body, &waiting), "status"), "active");
    assert!(item(&after.body, &waiting).contains("正式会员"));
    assert_eq!(
        s.notices("&kind=membership_changed").await.len(),
        1,
        "the landlord is told"
    );
}

async fn the_list_filters_by_status_and_role(backend: Backend) {
    let s = Scene::new(backend).await;
    let pending = s.app.registered_landlord(&s.village_id).await;
    let admin = signed_in(&s.app, &s.admin).await;
    let page = admin.get("/console/members?status=pending").await;
    assert!(page.body.contains(&format!("user-{}", pending.id())));
    assert!(!page.body.contains(&format!("user-{}", s.landlord.id())));
    assert!(page.body.contains(r#"<option value="pending" selected>"#));
    let staff = admin.get("/console/members?role=inspector").await;
    assert!(staff.body.contains(&format!("user-{}", s.inspector.id())));
    for other in [&pending, &s.landlord, &s.auditor] {
        assert!(!staff.body.contains(&format!("user-{}", other.id())));
    }
}

async fn refusals_are_shown_and_change_nothing(backend: Backend) {
    let s = Scene::new(backend).await;
    let admin = signed_in(&s.app, &s.admin).await;
    let landlord = s.landlord.id();
    let page = admin.get("/console/members").await;
    let row = item(&page.body, &format!("user-{landlord}"));
    let version = version_in(row, "expel");
    let csrf = csrf_of(&page.body);

    // An expulsion without a reason: the error beside the field of that form, the page otherwise as it was.
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("action", "expel"),
        ("reason", "  "),
    ];
    let refused = decide(&admin, &landlord, &fields, &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let row = item(&refused.body, &format!("user-{landlord}"));
    let expel = &row[row.find(r#"data-form="expel""#).unwrap()..];
    assert!(expel[..expel.find("</form>").unwrap()].contains(r#"class="field-error" data-field="reason""#));
    assert!(!row[..row.find(r#"data-form="expel""#).unwrap()].contains("field-error"));
    let user = user_now(&s, &landlord).await;
    assert_eq!(
        (user.str("membership_status"), user["version"].to_string()),
        ("active", version.clone())
    );

    // A move the status does not allow: the API's conflict above the list.
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("action", "approve"),
        ("reason", "再次批准"),
    ];
    let conflict = decide(&admin, &landlord, &fields, &[]).await;
    assert_eq!(conflict.status, 409);
    assert!(conflict.body.contains(r#"id="refused""#) && conflict.body.contains("当前状态不允许"));

    // Someone else suspends the landlord meanwhile: the form's version is stale.
    let etag = format!("\"{version}\"");
    s.app
        .call(
            "POST",
            &format!("/api/v1/users/{landlord}/membership"),
            Some(&s.admin.token),
            &[("If-Match", etag.as_str())],
            Some(&serde_json::json!({"action": "suspend", "reason": "欠缴会费"})),
        )
        .await
        .expect(200);
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("action", "expel"),
        ("reason", "屡次违规"),
    ];
    let stale = decide(&admin, &landlord, &fields, &[]).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale.body.contains(r#"id="refused""#) && stale.body.contains("页面已过期"));
    assert_eq!(user_now(&s, &landlord).await.str("membership_status"), "suspended");
    // The page shown with the refusal is current: its form carries the new version and the suspended moves.
    let row = item(&stale.body, &format!("user-{landlord}"));
    assert_eq!(data(row, "status"), "suspended");
    assert!(row.contains(r#"data-form="reinstate""#));
}

async fn auditors_read_and_other_roles_are_refused(backend: Backend) {
    let s = Scene::new(backend).await;
    let landlord = s.landlord.id();
    let auditor = signed_in(&s.app, &s.auditor).await;
    let page = auditor.get("/console/members").await;
    assert_eq!(page.status, 200);
    assert_eq!(data(item(&page.body, &format!("user-{landlord}")), "status"), "active");
    assert!(!page.body.contains(r#"action="/console/users/"#) && !page.body.contains(r#"name="reason""#));
    // A forged decision or deactivation, with the auditor's own token: refused, nothing changed.
    let csrf = csrf_of(&page.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("action", "suspend"),
        ("reason", "越权"),
    ];
    assert_eq!(decide(&auditor, &landlord, &fields, &[]).await.status, 403);
    let deactivate = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("active", "false"),
        ("reason", "越权"),
    ];
    let path = format!("/console/users/{}/active", s.inspector.id());
    assert_eq!(auditor.post(&path, &deactivate, &[]).await.status, 403);
    assert_eq!(user_now(&s, &landlord).await.str("membership_status"), "active");
    assert_eq!(user_now(&s, &s.inspector.id()).await["active"], true);

    // Another village's auditor does not see the landlord and cannot act on them.
    let other_village = s.app.village(&s.admin).await;
    let stranger = s.app.user(&s.admin, "auditor", Some(other_village.id())).await;
    let stranger = signed_in(&s.app, &stranger).await;
    let theirs = stranger.get("/console/members").await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.contains(&landlord) && theirs.body.contains(r#"id="landlords-none""#));
    let csrf = csrf_of(&theirs.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("action", "expel"),
        ("reason", "越权"),
    ];
    assert_eq!(decide(&stranger, &landlord, &fields, &[]).await.status, 403);
    assert_eq!(user_now(&s, &landlord).await.str("membership_status"), "active");

    // Landlords and inspectors may not open the page or act.
    for session in [&s.landlord, &s.inspector] {
        let visitor = signed_in(&s.app, session).await;
        let refused = visitor.get("/console/members").await;
        assert_eq!(refused.status, 403, "{}", session.user);
        assert!(refused.body.contains("不允许") && refused.body.contains("没有这项权限"));
        let csrf = csrf_of(&visitor.get("/console/").await.body);
        let fields = [
            ("csrf", csrf.as_str()),
            ("version", "1"),
            ("action", "expel"),
            ("reason", "越权"),
        ];
        assert_eq!(decide(&visitor, &landlord, &fields, &[]).await.status, 403);
    }
    assert_eq!(user_now(&s, &landlord).await.str("membership_status"), "active");

    // No session: the sign-in page.
    let nobody = Visitor::new(&s.app);
    let away = nobody.get("/console/members").await;
    assert_eq!((away.status, away.location.as_deref()), (303, Some("/console/login")));
    let fields = [("csrf", "x"), ("version", "1"), ("action", "expel"), ("reason", "越权")];
    assert_eq!(
        decide(&nobody, &landlord, &fields, &[]).await.location.as_deref(),
        Some("/console/login")
    );
}

async fn deactivating_staff_ends_their_console_session(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspector_id = s.inspector.id();
    let inspector = signed_in(&s.app, &s.inspector).await;
    assert_eq!(inspector.get("/console/").await.status, 200);
    let admin = signed_in(&s.app, &s.admin).await;
    let page = admin.get("/console/members").await;
    let row = item(&page.body, &format!("user-{inspector_id}"));
    assert_eq!(data(row, "active"), "true");
    assert!(row.contains(r#"name="active" value="false""#));
    assert!(
        !item(&page.body, &format!("user-{}", s.admin.id())).contains(r#"data-form="active""#),
        "no form to deactivate oneself"
    );
    let version = version_in(row, "active");
    let csrf = csrf_of(&page.body);
    let path = format!("/console/users/{inspector_id}/active");

    let empty = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("active", "false"),
        ("reason", ""),
    ];
    let refused = admin.post(&path, &empty, &[]).await;
    assert_eq!(refused.status, 422);
    assert!(item(&refused.body, &format!("user-{inspector_id}")).contains(r#"data-field="reason""#));
    assert_eq!(inspector.get("/console/").await.status, 200, "still signed in");

    let fields = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("active", "false"),
        ("reason", "调离本村"),
    ];
    let done = admin.post(&path, &fields, &[]).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/console/members?done=deactivated"))
    );
    let next = inspector.get("/console/").await;
    assert_eq!((next.status, next.location.as_deref()), (303, Some("/console/login")));
    // Their access token is refused at once, as after the API's own deactivation.
    s.app.get("/api/v1/me", Some(&s.inspector.token)).await.expect(401);
    let after = admin.get("/console/members?done=deactivated").await;
    assert!(after.body.contains("账号已停用"));
    let row = item(&after.body, &format!("user-{inspector_id}"));
    assert_eq!(data(row, "active"), "false");

    // Activated again from the console.
    let version = version_in(row, "active");
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("active", "true"),
        ("reason", "调回本村"),
    ];
    let done = admin.post(&path, &fields, &[]).await;
    assert_eq!(done.location.as_deref(), Some("/console/members?done=activated"));
    assert_eq!(user_now(&s, &inspector_id).await["active"], true);
    assert_eq!(signed_in(&s.app, &s.inspector).await.get("/console/").await.status, 200);
}

async fn forms_without_the_token_or_from_elsewhere_change_nothing(backend: Backend) {
    let s = Scene::new(backend).await;
    let admin = signed_in(&s.app, &s.admin).await;
    let page = admin.get("/console/members").await;
    let csrf = csrf_of(&page.body);
    let landlord = s.landlord.id();
    let version = version_in(item(&page.body, &format!("user-{landlord}")), "expel");
    let expel = [("version", version.as_str()), ("action", "expel"), ("reason", "伪造")];
    let with_token = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("action", "expel"),
        ("reason", "伪造"),
    ];
    for (fields, headers) in [
        (&expel[..], &[][..]),
        (&with_token[..], &[("Origin", "http://evil.example")][..]),
    ] {
        let refused = decide(&admin, &landlord, fields, headers).await;
        assert_eq!(refused.status, 403, "{headers:?}");
        assert!(refused.body.contains("这个表单已失效"));
    }
    let inspector = s.inspector.id();
    let version = version_in(item(&page.body, &format!("user-{inspector}")), "active");
    let path = format!("/console/users/{inspector}/active");
    let deactivate = [("version", version.as_str()), ("active", "false"), ("reason", "伪造")];
    assert_eq!(admin.post(&path, &deactivate, &[]).await.status, 403);
    let with_token = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("active", "false"),
        ("reason", "伪造"),
    ];
    let foreign = admin
        .post(&path, &with_token, &[("Origin", "http://evil.example")])
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(user_now(&s, &landlord).await.str("membership_status"), "active");
    assert_eq!(user_now(&s, &inspector).await["active"], true);
}

/// A notice's status and attempts, as the list item shows them.
fn shown(html: &str, notice_id: &str) -> (String, String) {
    let row = item(html, &format!("notice-{notice_id}"));
    (data(row, "status"), data(row, "attempts"))
}

async fn a_failed_notice_is_retried_and_landlords_see_their_own(backend: Backend) {
    let mut smtp = SmtpServer::stopped();
    let s = Scene::mailing_to(backend, Some(&smtp)).await;
    let newcomer = s.app.registered_landlord(&s.village_id).await;
    for (user, action) in [(s.landlord.id(), "suspend"), (newcomer.id(), "approve")] {
        s.app
            .post(
                &format!("/api/v1/users/{user}/membership"),
                Some(&s.admin.token),
                serde_json::json!({"action": action, "reason": "理事会决定"}),
            )
            .await
            .expect(200);
    }
    // The mail server is down through every attempt: both notices fail for good.
    for _ in 0..anzu::notices::outbox::MAX_ATTEMPTS {
        s.app.delivery(300).drain().await.unwrap();
        s.app.make_notices_due_now();
    }
    let theirs = s.notices("&kind=membership_changed").await;
    let id_for = |user: &str| {
        theirs
            .iter()
            .find(|n| n.str("recipient_id") == user)
            .unwrap()
            .id()
            .to_owned()
    };
    let (mine, other) = (id_for(&s.landlord.id()), id_for(&newcomer.id()));

    let admin = signed_in(&s.app, &s.admin).await;
    let page = admin.get("/console/notices?status=failed").await;
    assert!(page.body.contains(r#"aria-current="page">通知"#));
    assert_eq!(shown(&page.body, &mine), ("failed".into(), "10".into()));
    let row = item(&page.body, &format!("notice-{mine}"));
    assert!(row.contains(&email_of(&s.landlord)) && row.contains("last-error") && row.contains("会籍变更"));
    assert!(row.contains(&format!(r#"action="/console/notices/{mine}/retry""#)));
    assert!(item(&page.body, &format!("notice-{other}")).contains("retry"));
    assert!(
        admin
            .get("/console/notices?status=sent")
            .await
            .body
            .contains(r#"id="notices-none""#)
    );

    // The landlord sees their own notice only, and may not retry it.
    let landlord = signed_in(&s.app, &s.landlord).await;
    let own = landlord.get("/console/notices").await;
    assert!(own.body.contains("我的通知") && own.body.contains(r#"aria-current="page">我的通知"#));
    assert_eq!(shown(&own.body, &mine).0, "failed");
    assert!(!own.body.contains(&other) && !own.body.contains(r#"class="retry""#));
    let retry = format!("/console/notices/{mine}/retry");
    let csrf = csrf_of(&own.body);
    assert_eq!(landlord.post(&retry, &[("csrf", csrf.as_str())], &[]).await.status, 403);
    // No token, or another origin: refused.
    let csrf = csrf_of(&page.body);
    assert_eq!(admin.post(&retry, &[("version", "1")], &[]).await.status, 403);
    let foreign = admin
        .post(&retry, &[("csrf", csrf.as_str())], &[("Origin", "http://evil.example")])
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(shown(&admin.get("/console/notices").await.body, &mine).0, "failed");

    let done = admin.post(&retry, &[("csrf", csrf.as_str())], &[]).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/console/notices?done=retried"))
    );
    let after = admin.get("/console/notices?done=retried").await;
    assert!(after.body.contains(r#"id="done""#));
    assert_eq!(shown(&after.body, &mine), ("queued".into(), "0".into()));
    assert_eq!(shown(&after.body, &other).0, "failed", "only the one retried");

    if !smtp.resume() {
        eprintln!("aiosmtpd is not installed: the retry of a sent notice not tested");
        return;
    }
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 1);
    let sent = admin.get("/console/notices").await;
    assert_eq!(shown(&sent.body, &mine).0, "sent");
    assert!(!item(&sent.body, &format!("notice-{mine}")).contains("retry"));
    let conflict = admin.post(&retry, &[("csrf", csrf.as_str())], &[]).await;
    assert_eq!(conflict.status, 409);
    assert!(conflict.body.contains(r#"id="refused""#) && conflict.body.contains("Only a failed notice can be retried"));
    assert_eq!(shown(&conflict.body, &mine).0, "sent");
    let missing = admin
        .post("/console/notices/nope/retry", &[("csrf", csrf.as_str())], &[])
        .await;
    assert_eq!(missing.status, 404);
}

backend_tests!(
    an_admin_approves_a_pending_landlord,
    the_list_filters_by_status_and_role,
    refusals_are_shown_and_change_nothing,
    auditors_read_and_other_roles_are_refused,
    deactivating_staff_ends_their_console_session,
    forms_without_the_token_or_from_elsewhere_change_nothing,
    a_failed_notice_is_retried_and_landlords_see_their_own,
);
