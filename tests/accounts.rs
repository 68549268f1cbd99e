//! Registration, login, tokens, users and membership.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Answer, Backend, JsonExt, PASSWORD, TestApp, unique_contact};
use futures_util::future::join_all;
use serde_json::{Value, json};

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
    assert_eq!(fields, vec!["email", "full_name", "password", "phone", "village_id"]);

    let (phone, email) = unique_contact();
    let unknown_village = json!({"full_name": "A", "phone": phone, "email": email, "password": PASSWORD, "village_id": "01a228c9-0000-7000-8000-000000000000"});
    let answer = app.post("/api/v1/auth/register", None, unknown_village).await;
    assert_eq!(answer.error_fields(), vec!["village_id"]);
    answer.problem(422);
    assert_eq!(app.count("users"), 0, "a refused registration leaves no row");
}

async fn wrong_password_and_unknown_user_get_the_same_answer(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let wrong = app
        .login(admin.user.str("email"), "wrong-password-123")
        .await
        .problem(401);
    let unknown = app.login("nobody@example.cn", "wrong-password-123").await.problem(401);
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["title"], unknown["title"]);
}

async fn repeated_failed_logins_are_rate_limited(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_LOGIN_MAX_FAILURES", "3")]).await;
    let admin = app.admin().await;
    let email = admin.user.str("email");
    for _ in 0..3 {
        app.login(email, "wrong-password-123").await.problem(401);
    }
    let limited = app.login(email, PASSWORD).await;
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 900);
    limited.problem(429);
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
    let second_token = first.str("refresh_token");
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
    app.advance_clock(chrono::Duration::seconds(3));
    let expired = app.get("/api/v1/me", Some(&admin.token)).await.problem(401);
    assert!(expired.str("detail").contains("expired"));
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
        let keys = anzu::auth::tokens::TokenKeys::new(b"some-other-secret-some-other-secret", 900).unwrap();
        keys.issue(&admin.id(), anzu::auth::Role::Admin, None).unwrap()
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
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|u| u.id()).collect();
    assert!(ids.contains(&near.id().as_str()) && ids.contains(&inspector.id().as_str()));
    assert!(!ids.contains(&far.id().as_str()) && !ids.contains(&admin.id().as_str()));

    let landlords = app
        .get("/api/v1/users?role=landlord&limit=200", Some(&admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(landlords.array("items").len(), 2);
    let by_village = app
        .get(&format!("/api/v1/users?village_id={}", v2.id()), Some(&admin.token))
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
    let village_id = village.id();
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

/// Statuses of answers, counted.
fn tally(answers: &[Answer]) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.status).or_insert(0) += 1;
    }
    counts
}

async fn parallel_wrong_passwords_evaluate_at_most_the_limit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    let email = landlord.user.str("email").to_owned();
    let phone = landlord.user.str("phone").to_owned();
    let hashes_before = app.state.hashing.runs();

    // Forty guesses at once, by e-mail and by phone: one account, one counter.
    let guesses = (0..40).map(|n| {
        let login = if n % 2 == 0 { email.clone() } else { phone.clone() };
        let app = &app;
        async move { app.login(&login, "wrong-password-123").await }
    });
    let answers = join_all(guesses).await;
    let counts = tally(&answers);
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&35), "{counts:?}");
    assert_eq!(
        app.state.hashing.runs() - hashes_before,
        5,
        "only the reserved attempts hash"
    );
    for answer in answers.into_iter().filter(|a| a.status == 429) {
        let retry_after: u64 = answer.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!(retry_after > 0 && retry_after <= 900);
        answer.problem(429);
    }
    // Even the right password waits out the window.
    app.login(&phone, PASSWORD).await.problem(429);
}

async fn email_and_phone_share_one_counter_and_success_clears_it(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_LOGIN_MAX_FAILURES", "3")]).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    let email = landlord.user.str("email").to_owned();
    let phone = landlord.user.str("phone").to_owned();
    app.login(&email, "wrong-password-123").await.problem(401);
    app.login(&phone, "wrong-password-123").await.problem(401);
    app.login(&email.to_uppercase(), PASSWORD).await.expect(200);
    // The success forgot both failures: three more are allowed.
    for login in [&phone, &email, &phone] {
        app.login(login, "wrong-password-123").await.problem(401);
    }
    app.login(&email, "wrong-password-123").await.problem(429);
    app.login(&phone, PASSWORD).await.problem(429);
}

async fn the_address_limit_counts_failures_across_accounts(backend: Backend) {
    let app = TestApp::start(backend).await;
    assert_eq!(
        app.state.settings.login_address_max_failures, 100,
        "a village behind one carrier address is not locked out by a few typos"
    );
    let app = TestApp::start_with(backend, &[("ANZU_LOGIN_ADDRESS_MAX_FAILURES", "6")]).await;
    let admin = app.admin().await;
    let email = admin.user.str("email").to_owned();
    for n in 0..5 {
        app.login(&format!("ghost{n}@example.cn"), "wrong-password-123")
            .await
            .problem(401);
    }
    // Successes do not count against the address.
    for _ in 0..3 {
        app.login(&email, PASSWORD).await.expect(200);
    }
    app.login(&email, "wrong-password-123").await.problem(401);
    let limited = app.login("another@example.cn", "wrong-password-123").await;
    assert!(limited.header("retry-after").is_some());
    limited.problem(429);
    app.login(&email, PASSWORD).await.problem(429);
}

async fn password_hashing_is_bounded_and_never_wasted(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[
            ("ANZU_PASSWORD_HASH_CONCURRENCY", "1"),
            ("ANZU_ACCOUNT_REQUESTS_PER_MINUTE", "100000"),
        ],
    )
    .await;
    // Made-up set-password tokens are looked up first: no hash runs for them.
    let made_up = (0..60).map(|n| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/set-password",
                None,
                json!({"token": format!("made-up-token-{n}"), "password": "a-new-password-1"}),
            )
            .await
        }
    });
    let answers = join_all(made_up).await;
    assert_eq!(tally(&answers).get(&401), Some(&60), "{:?}", tally(&answers));
    assert_eq!(
        app.state.hashing.runs(),
        0,
        "no password was hashed for a made-up token"
    );

    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let village_id = village.id().to_owned();
    let users_before = app.count("users");

    // A taken e-mail is refused before hashing.
    let runs = app.state.hashing.runs();
    let (phone, _) = unique_contact();
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"full_name": "王房东", "phone": phone, "email": admin.user["email"], "password": PASSWORD, "village_id": village_id}),
    )
    .await
    .problem(409);
    assert_eq!(app.state.hashing.runs(), runs, "a duplicate costs no hash");

    // Many registrations at once: each is created or told to come back (503), never anything else.
    let registrations = (0..30).map(|_| {
        let app = &app;
        let village_id = village_id.clone();
        async move {
            let (phone, email) = unique_contact();
            app.post(
                "/api/v1/auth/register",
                None,
                json!({"full_name": "王房东", "phone": phone, "email": email, "password": PASSWORD, "village_id": village_id}),
            )
            .await
        }
    });
    let answers = join_all(registrations).await;
    let counts = tally(&answers);
    assert!(
        counts.keys().all(|s| *s == 201 || *s == 503),
        "only 201 or 503: {counts:?}"
    );
    for answer in answers.into_iter().filter(|a| a.status == 503) {
        assert!(answer.header("retry-after").is_some());
        answer.problem(503);
    }
    let created = *counts.get(&201).unwrap_or(&0) as i64;
    assert!(created > 0, "{counts:?}");
    assert_eq!(app.count("users"), users_before + created);
    assert_eq!(app.state.hashing.peak(), 1, "one hash at a time, as configured");
}

async fn account_endpoints_are_rate_limited_per_address(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_ACCOUNT_REQUESTS_PER_MINUTE", "3")]).await;
    let (phone, email) = unique_contact();
    let attempts: [(&str, Value); 3] = [
        ("/api/v1/auth/forgot-password", json!({"login": email})),
        (
            "/api/v1/auth/set-password",
            json!({"token": "made-up", "password": "a-new-password-1"}),
        ),
        (
            "/api/v1/auth/register",
            json!({"full_name": "A", "phone": phone, "email": email, "password": PASSWORD, "village_id": "01a228c9-0000-7000-8000-000000000000"}),
        ),
    ];
    for (path, body) in attempts {
        for _ in 0..3 {
            let status = app.post(path, None, body.clone()).await.status;
            assert!([202, 401, 422].contains(&status), "{path}: {status}");
        }
        let limited = app.post(path, None, body).await;
        assert!(limited.header("retry-after").is_some(), "{path}");
        limited.problem(429);
    }
}

/// A second server process on the same database, as production runs several: its own memory, its own
/// revocation list.
async fn deactivated_users_are_shut_out_everywhere_within_seconds(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let inspector = app.user(&admin, "inspector", village["id"].as_str()).await;
    assert_eq!(inspector.user["active"], true);
    // Another server process on the same database: the real `anzu serve`, with its own memory.
    let other = app.spawn_process(&[]).await;
    let other_me = |token: String| {
        let address = other.address.clone();
        let app = &app;
        async move {
            app.call_at(&address, "GET", "/api/v1/me", Some(&token), &[], None)
                .await
                .status
        }
    };
    assert_eq!(other_me(inspector.token.clone()).await, 200);

    let email = inspector.user.str("email").to_owned();
    let path = format!("/api/v1/users/{}/deactivate", inspector.id());
    let answer = app
        .post(&path, Some(&admin.token), json!({"reason": "left the office"}))
        .await
        .expect(200);
    assert_eq!(answer.body["active"], false);
    assert_eq!(answer.body["version"], 2);
    let deactivated_at = Instant::now();

    // This process refuses the token at once; the other within its next read of the list.
    app.get("/api/v1/me", Some(&inspector.token)).await.problem(401);
    loop {
        if other_me(inspector.token.clone()).await == 401 {
            break;
        }
        assert!(
            deactivated_at.elapsed() < Duration::from_secs(15),
            "the other process still honours the token after 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wrong = app.login(&email, "wrong-password-123").await.problem(401);
    let refused = app.login(&email, PASSWORD).await.problem(401);
    assert_eq!(refused["detail"], wrong["detail"], "no hint that the account exists");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": inspector.refresh_token}),
    )
    .await
    .problem(401);
    app.post(&path, Some(&admin.token), json!({"reason": "again"}))
        .await
        .problem(409);

    let activated = app
        .post(
            &format!("/api/v1/users/{}/activate", inspector.id()),
            Some(&admin.token),
            json!({"reason": "came back"}),
        )
        .await
        .expect(200);
    assert_eq!(activated.body["active"], true);
    let again = app.login(&email, PASSWORD).await.expect(200).body;
    app.get("/api/v1/me", again["access_token"].as_str()).await.expect(200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": inspector.refresh_token}),
    )
    .await
    .problem(401);

    let audited = app
        .get(
            &format!("/api/v1/audit-events?entity_id={}", inspector.id()),
            Some(&admin.token),
        )
        .await
        .expect(200)
        .body;
    let actions: Vec<&str> = audited["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.str("action"))
        .collect();
    assert!(
        actions.contains(&"user.deactivated") && actions.contains(&"user.activated"),
        "{actions:?}"
    );
    drop(other);
}

async fn only_admins_deactivate_and_activate(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let vid = village["id"].as_str();
    let target = app.user(&admin, "landlord", vid).await;
    let reason = json!({"reason": "x"});
    for role in ["auditor", "inspector", "landlord"] {
        let session = app.user(&admin, role, vid).await;
        for action in ["deactivate", "activate"] {
            app.post(
                &format!("/api/v1/users/{}/{action}", target.id()),
                Some(&session.token),
                reason.clone(),
            )
            .await
            .problem(403);
        }
    }
    for action in ["deactivate", "activate"] {
        let path = format!("/api/v1/users/{}/{action}", target.id());
        app.post(&path, None, reason.clone()).await.problem(401);
        let answer = app.post(&path, Some(&admin.token), json!({"reason": ""})).await;
        assert_eq!(answer.error_fields(), vec!["reason"]);
        answer.problem(422);
        app.post(
            &format!("/api/v1/users/not-a-user/{action}"),
            Some(&admin.token),
            reason.clone(),
        )
        .await
        .problem(404);
        app.post(
            &format!("/api/v1/users/{}/{action}", admin.id()),
            Some(&admin.token),
            reason.clone(),
        )
        .await
        .problem(409);
    }
    app.post(
        &format!("/api/v1/users/{}/activate", target.id()),
        Some(&admin.token),
        reason.clone(),
    )
    .await
    .problem(409);
    let stale = app
        .call(
            "POST",
            &format!("/api/v1/users/{}/deactivate", target.id()),
            Some(&admin.token),
            &[("If-Match", "\"9\"")],
            Some(&reason),
        )
        .await;
    stale.problem(412);
    app.get("/api/v1/me", Some(&target.token)).await.expect(200);
}

async fn changing_the_password_keeps_this_session_and_ends_the_others(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let here = app.user(&admin, "landlord", village["id"].as_str()).await;
    let email = here.user.str("email").to_owned();
    let elsewhere = app.login(&email, PASSWORD).await.expect(200).body;

    app.post(
        "/api/v1/me/password",
        None,
        json!({"current_password": PASSWORD, "new_password": "another-password-1"}),
    )
    .await
    .problem(401);
    let wrong = app
        .post(
            "/api/v1/me/password",
            Some(&here.token),
            json!({"current_password": "not-my-password", "new_password": "another-password-1"}),
        )
        .await;
    assert_eq!(wrong.error_fields(), vec!["current_password"]);
    assert!(!wrong.body.to_string().contains("not-my-password"));
    wrong.problem(422);
    let short = app
        .post(
            "/api/v1/me/password",
            Some(&here.token),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(short.error_fields(), vec!["new_password"]);
    short.problem(422);

    let changed = app
        .post(
            "/api/v1/me/password",
            Some(&here.token),
            json!({"current_password": PASSWORD, "new_password": "another-password-1"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": elsewhere["refresh_token"]}),
    )
    .await
    .problem(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": here.refresh_token}),
    )
    .await
    .expect(200);
    app.login(&email, PASSWORD).await.problem(401);
    app.login(&email, "another-password-1").await.expect(200);

    // Every role changes its own password, and only its own.
    for role in ["auditor", "inspector", "landlord"] {
        let session = app.user(&admin, role, village["id"].as_str()).await;
        let answer = app
            .post(
                "/api/v1/me/password",
                Some(&session.token),
                json!({"current_password": PASSWORD, "new_password": format!("{role}-new-password")}),
            )
            .await;
        assert_eq!(answer.status, 204, "{role}: {}", answer.body);
        let login = session.user.str("email");
        app.login(login, &format!("{role}-new-password")).await.expect(200);
    }
    let answer = app
        .post(
            "/api/v1/me/password",
            Some(&admin.token),
            json!({"current_password": PASSWORD, "new_password": "admin-new-password"}),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    app.login(&email, "another-password-1").await.expect(200);
}

async fn wrong_current_passwords_are_throttled_like_logins(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_LOGIN_MAX_FAILURES", "2")]).await;
    let admin = app.admin().await;
    let body = json!({"current_password": "guess-guess-guess", "new_password": "another-password-1"});
    for _ in 0..2 {
        app.post("/api/v1/me/password", Some(&admin.token), body.clone())
            .await
            .problem(422);
    }
    app.post("/api/v1/me/password", Some(&admin.token), body)
        .await
        .problem(429);
}

/// Every `.eml` written by the file transport, parsed.
fn delivered(app: &TestApp) -> Vec<common::Mail> {
    let dir = app.work_dir.path().join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|p| common::parse_mail(&std::fs::read(p).unwrap()))
        .collect()
}

/// The one-time token in a delivered message's link.
fn token_in(mail: &common::Mail) -> String {
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/set-password?token="))
        .expect("a link");
    link.split("token=").nth(1).unwrap().to_owned()
}

/// Everything the database holds, as bytes to search: on SQLite the database file and its WAL, on
/// PostgreSQL every row of every table as text.
fn database_snapshot(app: &TestApp) -> Vec<u8> {
    use diesel::prelude::*;
    match app.backend {
        Backend::Sqlite => {
            let path = &app.state.settings.database_url;
            [path.clone(), format!("{path}-wal")]
                .iter()
                .flat_map(|file| std::fs::read(file).unwrap_or_default())
                .collect()
        }
        Backend::Postgres => {
            #[derive(QueryableByName)]
            struct Text {
                #[diesel(sql_type = diesel::sql_types::Text)]
                text: String,
            }
            let mut conn = app.db.get().unwrap();
            let tables: Vec<Text> = diesel::sql_query(
                "SELECT table_name::text AS text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .load(&mut *conn)
            .unwrap();
            let mut all = Vec::new();
            for table in tables {
                let rows: Vec<Text> = diesel::sql_query(format!("SELECT x::text AS text FROM \"{}\" x", table.text))
                    .load(&mut *conn)
                    .unwrap();
                for row in rows {
                    all.extend_from_slice(row.text.as_bytes());
                }
            }
            all
        }
    }
}

fn holds(snapshot: &[u8], needle: &str) -> bool {
    snapshot.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn wait_for_notices(app: &TestApp, kind: &str, count: i64) {
    use anzu::db::schema::notices;
    use diesel::prelude::*;
    let started = Instant::now();
    loop {
        let n: i64 = {
            let mut conn = app.db.get().unwrap();
            notices::table
                .filter(notices::kind.eq(kind))
                .count()
                .get_result(&mut *conn)
                .unwrap()
        };
        if n >= count {
            assert_eq!(n, count, "{kind} notices");
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no {kind} notice queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn forgot_password_mails_a_one_time_link_that_is_kept_nowhere(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    let gone = app.user(&admin, "inspector", village["id"].as_str()).await;
    app.post(
        &format!("/api/v1/users/{}/deactivate", gone.id()),
        Some(&admin.token),
        json!({"reason": "left"}),
    )
    .await
    .expect(200);

    for login in [landlord.user.str("phone"), "nobody@example.cn", gone.user.str("email")] {
        let answer = app
            .post("/api/v1/auth/forgot-password", None, json!({"login": login}))
            .await;
        assert_eq!(answer.status, 202, "{login}: {}", answer.body);
        assert!(answer.bytes.is_empty());
    }
    wait_for_notices(&app, "password_reset", 1).await;
    // Asked again at once: no second e-mail.
    app.post(
        "/api/v1/auth/forgot-password",
        None,
        json!({"login": landlord.user["email"]}),
    )
    .await
    .expect(202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_for_notices(&app, "password_reset", 1).await;
    assert_eq!(app.count("password_tokens"), 1, "one token, for the active user only");

    let queued = database_snapshot(&app);
    app.delivery(60).drain().await.unwrap();
    let mails = delivered(&app);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![landlord.user.str("email").to_owned()]);
    let token = token_in(&mails[0]);
    assert!(mails[0].html.contains(&token), "the HTML body has the link too");
    assert!(
        !holds(&queued, &token) && !holds(&database_snapshot(&app), &token),
        "the raw token is in no row of the database, queued or sent"
    );

    let set = |password: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            app.post(
                "/api/v1/auth/set-password",
                None,
                json!({"token": token, "password": password}),
            )
            .await
        }
    };
    assert_eq!(set("a-brand-new-password").await.status, 204);
    set("a-second-new-password").await.problem(401);
    let login = landlord.user.str("email");
    app.login(login, PASSWORD).await.problem(401);
    app.login(login, "a-brand-new-password").await.expect(200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": landlord.refresh_token}),
    )
    .await
    .problem(401);

    let answer = app
        .post("/api/v1/auth/forgot-password", None, json!({"login": ""}))
        .await;
    assert_eq!(answer.error_fields(), vec!["login"]);
    answer.problem(422);
}

async fn eight_concurrent_uses_of_one_link_set_one_password(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    for round in 0..3 {
        // Issued as a link is (only its hash is stored); the raw value is what the e-mail would carry.
        let token = app
            .db
            .write_blocking(|conn| {
                anzu::accounts::repo::issue_password_token(
                    conn,
                    &landlord.id(),
                    anzu::ids::now(),
                    chrono::Duration::hours(1),
                )
            })
            .unwrap();
        let uses = (0..8).map(|n| {
            let app = &app;
            let token = token.clone();
            async move {
                app.post(
                    "/api/v1/auth/set-password",
                    None,
                    json!({"token": token, "password": format!("password-of-use-{round}-{n}")}),
                )
                .await
            }
        });
        let answers = join_all(uses).await;
        let counts = tally(&answers);
        assert_eq!(counts.get(&204), Some(&1), "round {round}: {counts:?}");
        assert_eq!(counts.get(&401), Some(&7), "round {round}: {counts:?}");
    }
}

async fn an_account_without_a_password_takes_the_hash_path(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    // As a ledger import makes an owner: no password anyone knows.
    let (phone, email) = unique_contact();
    let imported = anzu::accounts::model::UserRow {
        id: anzu::ids::new_id(),
        full_name: "陈房东".into(),
        email: email.clone(),
        phone: Some(phone),
        password_hash: "!unset:00112233445566778899aabbccddeeff".into(),
        role: anzu::auth::Role::Landlord,
        village_id: village["id"].as_str().map(str::to_owned),
        membership_status: anzu::accounts::model::MembershipStatus::Active,
        created_at: anzu::ids::now(),
        updated_at: anzu::ids::now(),
        version: 1,
        active: true,
    };
    app.db
        .write_blocking(|conn| anzu::accounts::repo::insert(conn, &imported))
        .unwrap();

    let timed = |login: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            app.login(&login, "wrong-password-123").await.problem(401);
            started.elapsed()
        }
    };
    let before = app.state.hashing.runs();
    let mut unset = Vec::new();
    let mut wrong = Vec::new();
    for _ in 0..5 {
        unset.push(timed(email.clone()).await);
        wrong.push(timed(landlord.user.str("email").to_owned()).await);
    }
    assert_eq!(app.state.hashing.runs() - before, 10, "every attempt verified a hash");
    unset.sort();
    wrong.sort();
    let (unset, wrong) = (unset[2], wrong[2]);
    // Without a hash the answer takes a millisecond or two; with one, tens (other tests share the cores,
    // so the bound is loose).
    assert!(
        unset * 5 > wrong && wrong * 5 > unset,
        "login without a password took {unset:?}, a wrong password {wrong:?}"
    );
}

async fn refresh_with_an_idempotency_key_is_never_replayed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let body = json!({"refresh_token": admin.refresh_token});
    let send = || {
        app.call(
            "POST",
            "/api/v1/auth/refresh",
            Some(&admin.token),
            &[("Idempotency-Key", "refresh-1")],
            Some(&body),
        )
    };
    let first = send().await.expect(200);
    assert!(first.header("idempotent-replayed").is_none());
    let second = send().await;
    assert!(second.header("idempotent-replayed").is_none());
    assert_ne!(second.body["refresh_token"], first.body["refresh_token"]);
    second.problem(401);
    assert_eq!(app.count("idempotency_keys"), 0, "nothing of /auth/* is stored");
    let new_token = first.body.str("refresh_token");
    assert!(!holds(&database_snapshot(&app), new_token));
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
    parallel_wrong_passwords_evaluate_at_most_the_limit,
    email_and_phone_share_one_counter_and_success_clears_it,
    the_address_limit_counts_failures_across_accounts,
    password_hashing_is_bounded_and_never_wasted,
    account_endpoints_are_rate_limited_per_address,
    deactivated_users_are_shut_out_everywhere_within_seconds,
    only_admins_deactivate_and_activate,
    changing_the_password_keeps_this_session_and_ends_the_others,
    wrong_current_passwords_are_throttled_like_logins,
    forgot_password_mails_a_one_time_link_that_is_kept_nowhere,
    eight_concurrent_uses_of_one_link_set_one_password,
    an_account_without_a_password_takes_the_hash_path,
    refresh_with_an_idempotency_key_is_never_replayed,
);
