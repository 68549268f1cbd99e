//! Registration, login, tokens, users and membership.

mod common;

use common::{Backend, PASSWORD, TestApp, unique_contact};
use serde_json::json;

async fn registration_starts_pending_and_login_works_by_email_or_phone(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let (phone, email) = unique_contact();
    let body = json!({"full_name": "陈房东", "phone": phone, "email": email.to_uppercase(), "password": PASSWORD, "village_id": village["id"]});
    let user = app.post("/api/v1/auth/register", None, body.clone()).await.expect(201);
    assert_eq!(user.body["membership_status"], "pending");
    assert_eq!(user.body["role"], "landlord");
    assert_eq!(user.body["email"], email, "e-mail is stored in lower case");
    assert!(user.body.get("password_hash").is_none() && user.body.get("password").is_none());
    assert_eq!(user.header("etag").as_deref(), Some("\"1\""));
    for key in [
        "id",
        "full_name",
        "email",
        "phone",
        "role",
        "village_id",
        "membership_status",
        "created_at",
        "updated_at",
        "version",
    ] {
        assert!(user.body.get(key).is_some(), "user lacks {key}");
    }

    app.post("/api/v1/auth/register", None, body).await.problem(409);

    for login in [email.as_str(), phone.as_str()] {
        let session = app.login(login, PASSWORD).await.expect(200).body;
        assert_eq!(session["token_type"], "Bearer");
        assert_eq!(session["expires_in"], 900);
        assert_eq!(session["user"]["id"], user.body["id"]);
        let me = app
            .get("/api/v1/me", session["access_token"].as_str())
            .await
            .expect(200);
        assert_eq!(me.body["id"], user.body["id"]);
    }
    assert_eq!(
        app.count("audit_events"),
        3,
        "village, admin... and the registration are audited"
    );
}

async fn registration_names_every_bad_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let bad =
        json!({"full_name": "", "phone": "12345", "email": "not-an-email", "password": "short", "village_id": "nope"});
    let answer = app.post("/api/v1/auth/register", None, bad).await;
    let fields = answer.error_fields();
    answer.problem(422);
    assert_eq!(fields, vec!["email", "full_name", "password", "phone"]);

    let (phone, email) = unique_contact();
    let unknown_village =
        json!({"full_name": "A", "phone": phone, "email": email, "password": PASSWORD, "village_id": "nope"});
    let answer = app.post("/api/v1/auth/register", None, unknown_village).await;
    assert_eq!(answer.error_fields(), vec!["village_id"]);
    answer.problem(422);
    assert_eq!(app.count("users"), 0, "a refused registration leaves no row");
}

async fn wrong_password_and_unknown_user_get_the_same_answer(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let wrong = app
        .login(admin.user["email"].as_str().unwrap(), "wrong-password-123")
        .await
        .problem(401);
    let unknown = app.login("nobody@example.cn", "wrong-password-123").await.problem(401);
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["title"], unknown["title"]);
}

async fn repeated_failed_logins_are_rate_limited(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_LOGIN_MAX_FAILURES", "3")]).await;
    let admin = app.admin().await;
    let email = admin.user["email"].as_str().unwrap();
    for _ in 0..3 {
        app.login(email, "wrong-password-123").await.problem(401);
    }
    let limited = app.login(email, PASSWORD).await;
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 900);
    limited.problem(429);

    // The same address is limited too, at four times the per-account number.
    for n in 0..9 {
        app.login(&format!("ghost{n}@example.cn"), "wrong-password-123")
            .await
            .problem(401);
    }
    app.login("another@example.cn", "wrong-password-123").await.problem(429);
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let first = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": admin.refresh_token}),
        )
        .await
        .expect(200)
        .body;
    let second_token = first["refresh_token"].as_str().unwrap();
    assert_ne!(second_token, admin.refresh_token);
    app.get("/api/v1/me", first["access_token"].as_str()).await.expect(200);

    // Replaying the first token is theft or a bug: the whole family dies, including the new token.
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": admin.refresh_token}),
    )
    .await
    .problem(401);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": second_token}))
        .await
        .problem(401);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": "made-up"}))
        .await
        .problem(401);
}

async fn logout_revokes_the_refresh_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    app.post(
        "/api/v1/auth/logout",
        None,
        json!({"refresh_token": admin.refresh_token}),
    )
    .await
    .problem(401);
    let answer = app
        .post(
            "/api/v1/auth/logout",
            Some(&admin.token),
            json!({"refresh_token": admin.refresh_token}),
        )
        .await;
    assert_eq!(answer.status, 204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": admin.refresh_token}),
    )
    .await
    .problem(401);
}

async fn access_tokens_expire(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_ACCESS_TOKEN_TTL_SECS", "1")]).await;
    let admin = app.admin().await;
    app.get("/api/v1/me", Some(&admin.token)).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = app.get("/api/v1/me", Some(&admin.token)).await.problem(401);
    assert!(expired["detail"].as_str().unwrap().contains("expired"));
}

async fn forged_tokens_are_refused(backend: Backend) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let parts: Vec<&str> = admin.token.split('.').collect();
    let claims = parts[1];

    let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{claims}.");
    let wrong_key = {
        let keys = anzu::http::auth::TokenKeys::new(b"some-other-secret-some-other-secret", 900).unwrap();
        keys.issue(&admin.id(), anzu::accounts::model::Role::Admin, None)
            .unwrap()
    };
    let hs512 = {
        let header = B64.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        format!("{header}.{claims}.{}", parts[2])
    };
    let tampered = {
        let mut payload: serde_json::Value = serde_json::from_slice(&B64.decode(claims).unwrap()).unwrap();
        payload["role"] = json!("admin");
        payload["sub"] = json!("someone-else");
        format!("{}.{}.{}", parts[0], B64.encode(payload.to_string()), parts[2])
    };
    for token in [alg_none, wrong_key, hs512, tampered, "garbage".into()] {
        app.get("/api/v1/me", Some(&token)).await.problem(401);
    }
    app.get("/api/v1/me", None).await.problem(401);
}

async fn admins_create_users_and_staff_need_a_village(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    assert_eq!(
        landlord.user["membership_status"], "active",
        "a landlord made by an admin is active"
    );

    let (phone, email) = unique_contact();
    let no_village =
        json!({"full_name": "I", "email": email, "phone": phone, "password": PASSWORD, "role": "inspector"});
    let answer = app.post("/api/v1/users", Some(&admin.token), no_village.clone()).await;
    assert_eq!(answer.error_fields(), vec!["village_id"]);
    answer.problem(422);
    let bad_role = json!({"full_name": "I", "email": email, "phone": phone, "password": PASSWORD, "role": "mayor", "village_id": village["id"]});
    let answer = app.post("/api/v1/users", Some(&admin.token), bad_role).await;
    assert_eq!(answer.error_fields(), vec!["role"]);
    answer.problem(422);

    app.post("/api/v1/users", Some(&landlord.token), no_village)
        .await
        .problem(403);
}

async fn user_visibility_follows_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let (v1, v2) = (app.village(&admin).await, app.village(&admin).await);
    let auditor = app.user(&admin, "auditor", v1["id"].as_str()).await;
    let inspector = app.user(&admin, "inspector", v1["id"].as_str()).await;
    let near = app.user(&admin, "landlord", v1["id"].as_str()).await;
    let far = app.user(&admin, "landlord", v2["id"].as_str()).await;

    app.get(&format!("/api/v1/users/{}", near.id()), Some(&auditor.token))
        .await
        .expect(200);
    app.get(&format!("/api/v1/users/{}", far.id()), Some(&auditor.token))
        .await
        .problem(404);
    app.get(&format!("/api/v1/users/{}", far.id()), Some(&near.token))
        .await
        .problem(404);
    app.get(&format!("/api/v1/users/{}", near.id()), Some(&near.token))
        .await
        .expect(200);
    app.get(&format!("/api/v1/users/{}", far.id()), Some(&admin.token))
        .await
        .expect(200);
    app.get("/api/v1/users/not-an-id", Some(&admin.token))
        .await
        .problem(404);

    let listed = app
        .get("/api/v1/users?limit=200", Some(&auditor.token))
        .await
        .expect(200)
        .body;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&near.id().as_str()) && ids.contains(&inspector.id().as_str()));
    assert!(!ids.contains(&far.id().as_str()) && !ids.contains(&admin.id().as_str()));

    let landlords = app
        .get("/api/v1/users?role=landlord&limit=200", Some(&admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(landlords["items"].as_array().unwrap().len(), 2);
    let by_village = app
        .get(
            &format!("/api/v1/users?village_id={}", v2["id"].as_str().unwrap()),
            Some(&admin.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(by_village["items"][0]["id"], far.user["id"]);
    app.get("/api/v1/users?role=mayor", Some(&admin.token))
        .await
        .problem(400);

    app.get("/api/v1/users", Some(&inspector.token)).await.problem(403);
    app.get("/api/v1/users", Some(&near.token)).await.problem(403);
}

async fn membership_state_machine(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let village_id = village["id"].as_str().unwrap();
    let decide = |id: String, action: &'static str| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            app.post(
                &format!("/api/v1/users/{id}/membership"),
                Some(&token),
                json!({"action": action, "reason": "council decision"}),
            )
            .await
        }
    };

    // Every status reached, then every action tried from it.
    let allowed = [
        ("pending", "approve", "active"),
        ("active", "suspend", "suspended"),
        ("suspended", "reinstate", "active"),
        ("pending", "expel", "expelled"),
        ("active", "expel", "expelled"),
        ("suspended", "expel", "expelled"),
    ];
    let path_to = |status: &str| -> Vec<&'static str> {
        match status {
            "pending" => vec![],
            "active" => vec!["approve"],
            "suspended" => vec!["approve", "suspend"],
            _ => vec!["expel"],
        }
    };
    for from in ["pending", "active", "suspended", "expelled"] {
        for action in ["approve", "suspend", "reinstate", "expel"] {
            let landlord = app.registered_landlord(village_id).await;
            for step in path_to(from) {
                decide(landlord.id(), step).await.expect(200);
            }
            let answer = decide(landlord.id(), action).await;
            match allowed.iter().find(|(f, a, _)| *f == from && *a == action) {
                Some((_, _, to)) => {
                    let body = answer.expect(200).body;
                    assert_eq!(body["membership_status"], *to, "{from} + {action}");
                }
                None => {
                    answer.problem(409);
                }
            }
        }
    }

    let landlord = app.registered_landlord(village_id).await;
    let before = app.count("audit_events");
    let bad = app
        .post(
            &format!("/api/v1/users/{}/membership", landlord.id()),
            Some(&admin.token),
            json!({"action": "promote", "reason": "x"}),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["action"]);
    bad.problem(422);
    app.post(
        &format!("/api/v1/users/{}/membership", landlord.id()),
        Some(&landlord.token),
        json!({"action": "approve", "reason": "me"}),
    )
    .await
    .problem(403);
    assert_eq!(app.count("audit_events"), before, "refused decisions record nothing");
    app.post(
        &format!("/api/v1/users/{}/membership", admin.id()),
        Some(&admin.token),
        json!({"action": "suspend", "reason": "x"}),
    )
    .await
    .problem(409);

    // A stale If-Match is refused; the current one goes through.
    let stale = app
        .call(
            "POST",
            &format!("/api/v1/users/{}/membership", landlord.id()),
            Some(&admin.token),
            &[("If-Match", "\"7\"")],
            Some(&json!({"action": "approve", "reason": "ok"})),
        )
        .await;
    stale.problem(412);
    let fresh = app
        .call(
            "POST",
            &format!("/api/v1/users/{}/membership", landlord.id()),
            Some(&admin.token),
            &[("If-Match", "\"1\"")],
            Some(&json!({"action": "approve", "reason": "ok"})),
        )
        .await
        .expect(200);
    assert_eq!(fresh.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(fresh.body["version"], 2);
}

backend_tests!(
    registration_starts_pending_and_login_works_by_email_or_phone,
    registration_names_every_bad_field,
    wrong_password_and_unknown_user_get_the_same_answer,
    repeated_failed_logins_are_rate_limited,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    logout_revokes_the_refresh_token,
    access_tokens_expire,
    forged_tokens_are_refused,
    admins_create_users_and_staff_need_a_village,
    user_visibility_follows_scope,
    membership_state_machine,
);
