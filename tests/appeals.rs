//! Appeals against an inspection, re-rating requests and the owner's public reply (issue 15, part 2).
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::{Answer, Backend, JsonExt, Session, TestApp};
use diesel::prelude::*;
use serde_json::{Value, json};

/// The notices of `kind` straight from the table: (recipient id, text body), oldest first.
fn notices_of(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        recipient_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        body_text: String,
    }
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(format!(
        "SELECT recipient_id, body_text FROM notices WHERE kind = '{kind}' ORDER BY created_at, id"
    ))
    .load::<Row>(&mut *conn)
    .unwrap()
    .into_iter()
    .map(|r| (r.recipient_id, r.body_text))
    .collect()
}

async fn appeal(s: &Scene, by: &Session, inspection_id: &str, reason: &str) -> Answer {
    s.app
        .post(
            &format!("/api/v1/inspections/{inspection_id}/appeals"),
            Some(&by.token),
            json!({"reason": reason}),
        )
        .await
}

async fn decide(s: &Scene, by: &Session, appeal: &Value, body: Value) -> Answer {
    let etag = format!("\"{}\"", appeal["version"]);
    s.app
        .call(
            "POST",
            &format!("/api/v1/appeals/{}/decision", appeal.id()),
            Some(&by.token),
            &[("If-Match", etag.as_str())],
            Some(&body),
        )
        .await
}

async fn audit_actions(s: &Scene, entity_id: &str) -> Vec<String> {
    let events = s
        .app
        .get(
            &format!("/api/v1/audit-events?entity_id={entity_id}"),
            Some(&s.admin.token),
        )
        .await
        .expect(200)
        .body;
    events
        .array("items")
        .iter()
        .map(|e| e.str("action").to_owned())
        .collect()
}

/// Day 14 after the inspection may be appealed, day 15 not; one open appeal per inspection; bad text is a 422
/// naming the field and writes nothing; only the owner appeals; the inspector is told.
async fn the_appeal_window_and_one_open_appeal(backend: Backend) {
    let s = Scene::new(backend).await;
    let old = s.inspect(&date(-15), &[]).await;
    let recent = s.inspect(&date(-14), &["GAS-02"]).await;

    let late = appeal(&s, &s.landlord, old.id(), "检查有误").await.problem(409);
    assert!(late["detail"].as_str().unwrap().contains("14 days"), "{late}");

    let bad = appeal(&s, &s.landlord, recent.id(), "理由\u{202E}反转").await;
    assert_eq!(bad.error_fields(), vec!["reason"]);
    appeal(&s, &s.landlord, recent.id(), "   ").await.problem(422);
    appeal(&s, &s.inspector, recent.id(), "检查有误").await.problem(403);
    assert_eq!(s.app.count("appeals"), 0);

    let lodged = appeal(&s, &s.landlord, recent.id(), "燃气管当日已更换")
        .await
        .expect(201);
    assert_eq!(lodged.header("etag").as_deref(), Some("\"1\""));
    let lodged = lodged.body;
    assert_eq!(
        (
            lodged.str("status"),
            lodged.str("inspection_id"),
            lodged.str("property_id")
        ),
        ("open", recent.id(), s.pid())
    );
    appeal(&s, &s.landlord, recent.id(), "再次申诉").await.problem(409);
    assert_eq!(s.app.count("appeals"), 1);

    let told = notices_of(&s.app, "appeal_lodged");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, s.inspector.id());
    assert!(told[0].1.contains("燃气管当日已更换"));

    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    appeal(&s, &other, recent.id(), "不是我的房").await.problem(404);
}

/// Neither the landlord, nor the inspector who inspected (even an auditor who inspected), nor an inspector
/// decides; an auditor of another village does not see the appeal; a stale If-Match is a 412; a rejection
/// needs a reason; the decision is told to both sides and audited.
async fn who_decides_and_a_rejection(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(-1), &["GAS-02"]).await;
    let lodged = appeal(&s, &s.landlord, inspection.id(), "燃气管当日已更换")
        .await
        .expect(201)
        .body;
    let rejected = json!({"decision": "rejected", "reason": "照片显示燃气管老化"});

    decide(&s, &s.landlord, &lodged, rejected.clone()).await.problem(403);
    decide(&s, &s.inspector, &lodged, rejected.clone()).await.problem(403);
    let far_village = s.app.village(&s.admin).await;
    let far = s.app.user(&s.admin, "auditor", far_village["id"].as_str()).await;
    decide(&s, &far, &lodged, rejected.clone()).await.problem(404);
    s.app
        .get(&format!("/api/v1/appeals/{}", lodged.id()), Some(&far.token))
        .await
        .problem(404);

    let mut stale = lodged.clone();
    stale["version"] = json!(7);
    decide(&s, &s.auditor, &stale, rejected.clone()).await.problem(412);
    let no_reason = decide(&s, &s.auditor, &lodged, json!({"decision": "rejected"})).await;
    assert_eq!(no_reason.error_fields(), vec!["reason"]);
    decide(&s, &s.auditor, &lodged, json!({"decision": "maybe", "reason": "x"}))
        .await
        .problem(422);
    assert_eq!(s.app.count("notices WHERE kind = 'appeal_decided'"), 0);

    let decided = decide(&s, &s.auditor, &lodged, rejected.clone()).await.expect(200).body;
    assert_eq!(
        (
            decided.str("status"),
            decided.str("decided_by"),
            decided.str("decision_reason")
        ),
        ("rejected", s.auditor.id().as_str(), "照片显示燃气管老化")
    );
    assert_eq!(decided["version"], 2);
    decide(&s, &s.admin, &decided, rejected).await.problem(409);
    // A rejected appeal is final: the same inspection is not appealed again, even inside the window.
    let again = appeal(&s, &s.landlord, inspection.id(), "再申诉一次")
        .await
        .problem(409);
    assert!(again.str("detail").contains("rejected"), "{again}");
    assert_eq!(s.app.count("appeals"), 1);

    let told = notices_of(&s.app, "appeal_decided");
    let mut recipients: Vec<&str> = told.iter().map(|(r, _)| r.as_str()).collect();
    recipients.sort();
    let mut expected = vec![s.landlord.id(), s.inspector.id()];
    expected.sort();
    assert_eq!(recipients, expected);
    assert!(
        told.iter()
            .all(|(_, text)| text.contains("rejected") && text.contains("照片显示燃气管老化"))
    );
    let listed = s.notices("&kind=appeal_decided").await;
    assert_eq!(listed.len(), 2);
    assert!(
        audit_actions(&s, lodged.id())
            .await
            .contains(&"appeal.decided".to_owned())
    );

    // An auditor who carried out the inspection may not decide its appeal either.
    let by_auditor = s.inspect_as(&s.auditor, &date(0), &[]).await.expect(201).body;
    let second = appeal(&s, &s.landlord, by_auditor.id(), "评分有误")
        .await
        .expect(201)
        .body;
    decide(&s, &s.auditor, &second, json!({"decision": "upheld"}))
        .await
        .problem(403);
}

/// An upheld appeal marks the property for a new inspection (status `upheld`, `reinspected_by` empty) until the
/// next inspection; both sides are told, the decision audited; lists are scoped and filtered.
async fn an_upheld_appeal_asks_for_a_new_inspection(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(-2), &["GAS-02"]).await;
    let lodged = appeal(&s, &s.landlord, inspection.id(), "燃气管当日已更换")
        .await
        .expect(201)
        .body;
    let upheld = decide(&s, &s.admin, &lodged, json!({"decision": "upheld"}))
        .await
        .expect(200)
        .body;
    assert_eq!(upheld.str("status"), "upheld");
    assert_eq!(upheld["reinspected_by"], Value::Null);
    let told = notices_of(&s.app, "appeal_decided");
    assert_eq!(told.len(), 2);
    assert!(
        told.iter()
            .all(|(_, text)| text.contains("upheld") && text.contains("inspected again"))
    );
    assert!(
        audit_actions(&s, lodged.id())
            .await
            .contains(&"appeal.decided".to_owned())
    );

    for (session, status, expected) in [
        (&s.landlord, "", 1),
        (&s.auditor, "", 1),
        (&s.inspector, "", 1),
        (&s.admin, "&status=upheld", 1),
        (&s.admin, "&status=open", 0),
    ] {
        let list = s
            .app
            .get(
                &format!("/api/v1/appeals?property_id={}{status}", s.pid()),
                Some(&session.token),
            )
            .await
            .expect(200)
            .body;
        assert_eq!(list.array("items").len(), expected, "{status}");
    }
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let theirs = s.app.get("/api/v1/appeals", Some(&other.token)).await.expect(200).body;
    assert!(theirs.array("items").is_empty());
    s.app
        .get("/api/v1/appeals?status=nope", Some(&s.admin.token))
        .await
        .problem(400);

    let again = s.inspect(&date(0), &[]).await;
    let after = s
        .app
        .get(&format!("/api/v1/appeals/{}", lodged.id()), Some(&s.landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (after.str("status"), after.str("reinspected_by")),
        ("upheld", again.id())
    );
}

async fn request_rerating(s: &Scene, by: &Session, body: Value) -> Answer {
    s.app
        .post(
            &format!("/api/v1/properties/{}/rerating-requests", s.pid()),
            Some(&by.token),
            body,
        )
        .await
}

/// A re-rating is requested once every order is reported fixed; one open request per property; the next
/// inspection closes it, and its notice says whether the stars went up or down.
async fn a_rerating_request_is_closed_by_the_next_inspection(backend: Backend) {
    let s = Scene::new(backend).await;
    let failed = s.inspect(&date(-10), &["GAS-02"]).await;
    request_rerating(&s, &s.inspector, json!({})).await.problem(403);
    let bad = request_rerating(&s, &s.landlord, json!({"note": "已整改\u{0007}"})).await;
    assert_eq!(bad.error_fields(), vec!["note"]);
    let unfixed = request_rerating(&s, &s.landlord, json!({})).await.problem(409);
    assert!(unfixed.str("detail").contains("1 rectification order"), "{unfixed}");
    assert_eq!(s.app.count("rerating_requests"), 0);
    s.app
        .call(
            "POST",
            &format!("/api/v1/rectifications/{}/report", failed["rectifications"][0].id()),
            Some(&s.landlord.token),
            &[],
            Some(&json!({"note": "燃气管已更换"})),
        )
        .await
        .expect(200);
    let request = request_rerating(&s, &s.landlord, json!({"note": "燃气管已更换"}))
        .await
        .expect(201)
        .body;
    assert_eq!(request.str("status"), "open");
    request_rerating(&s, &s.landlord, json!({})).await.problem(409);
    assert_eq!(s.app.count("rerating_requests"), 1);

    let raised = s.inspect(&date(-5), &[]).await;
    let listed = s
        .app
        .get(
            &format!("/api/v1/properties/{}/rerating-requests", s.pid()),
            Some(&s.inspector.token),
        )
        .await
        .expect(200)
        .body;
    let closed = &listed.array("items")[0];
    assert_eq!(
        (closed.str("status"), closed.str("closed_by_inspection_id")),
        ("closed", raised.id())
    );
    let results = notices_of(&s.app, "inspection_result");
    assert!(results[0].1.contains("Dear") && !results[0].1.contains("The rating was"));
    assert!(results[1].1.contains("raised from 2 to 5 stars"), "{}", results[1].1);
    assert!(results[1].1.contains("由 2 星提升至 5 星"));

    request_rerating(&s, &s.landlord, json!({})).await.expect(201);
    s.inspect(&date(0), &["GAS-02"]).await;
    let results = notices_of(&s.app, "inspection_result");
    assert!(results[2].1.contains("lowered from 5 to 2 stars"), "{}", results[2].1);
    s.inspect(&date(0), &["GAS-02"]).await;
    let results = notices_of(&s.app, "inspection_result");
    assert!(results[3].1.contains("unchanged at 2 stars"), "{}", results[3].1);
    assert_eq!(s.app.count("rerating_requests WHERE status = 'open'"), 0);
}

async fn reply(s: &Scene, by: &Session, text: &str) -> Answer {
    s.app
        .call(
            "PUT",
            &format!("/api/v1/properties/{}/reply", s.pid()),
            Some(&by.token),
            &[],
            Some(&json!({"text": text})),
        )
        .await
}

async fn public_reply(s: &Scene) -> (Value, String) {
    let code = s.code();
    let json = s
        .app
        .get(&format!("/public/v1/ratings/{code}"), None)
        .await
        .expect(200)
        .body;
    let page = s.app.get(&format!("/r/{code}"), None).await.expect(200).text();
    (json["owner_reply"].clone(), page)
}

/// The owner's reply is shown on the public JSON and page as the owner's words, at once (the cache forgets);
/// too long or bad text is refused naming `text`; nobody else may write it; deleting removes it.
async fn the_owners_reply_is_public(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(0), &["GAS-02"]).await;
    let (before, page) = public_reply(&s).await;
    assert_eq!(before, Value::Null);
    assert!(!page.contains("业主回应"));

    let long = "安".repeat(301);
    for text in [long.as_str(), "回应\u{200B}隐藏", "回应\n换行", ""] {
        let refused = reply(&s, &s.landlord, text).await;
        assert_eq!(refused.status, 422, "{text:?}");
        assert_eq!(refused.error_fields(), vec!["text"]);
    }
    assert_eq!(s.app.count("property_replies"), 0);
    let other = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    reply(&s, &other, "冒名回应").await.problem(404);
    reply(&s, &s.inspector, "检查员回应").await.problem(403);

    let words = "燃气管已于次日更换，欢迎查看 <b>";
    let answer = reply(&s, &s.landlord, &"安".repeat(300)).await.expect(200).body;
    assert_eq!(answer["text"].as_str().unwrap().chars().count(), 300);
    reply(&s, &s.landlord, words).await.expect(200);
    let (shown, page) = public_reply(&s).await;
    assert_eq!(shown["text"], words);
    assert!(
        page.contains("业主回应") && page.contains("The owner's reply"),
        "{page}"
    );
    assert!(
        page.contains("燃气管已于次日更换，欢迎查看 &lt;b&gt;"),
        "escaped on the page"
    );

    let path = format!("/api/v1/properties/{}/reply", s.pid());
    s.app
        .call("DELETE", &path, Some(&other.token), &[], None)
        .await
        .problem(404);
    s.app
        .call("DELETE", &path, Some(&s.landlord.token), &[], None)
        .await
        .expect(204);
    s.app
        .call("DELETE", &path, Some(&s.landlord.token), &[], None)
        .await
        .problem(404);
    let (after, page) = public_reply(&s).await;
    assert_eq!(after, Value::Null);
    assert!(!page.contains("业主回应"));
}

backend_tests!(
    the_appeal_window_and_one_open_appeal,
    who_decides_and_a_rejection,
    an_upheld_appeal_asks_for_a_new_inspection,
    a_rerating_request_is_closed_by_the_next_inspection,
    the_owners_reply_is_public,
);
