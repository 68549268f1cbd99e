//! The one schema shared by the SQLite and PostgreSQL backends (kept by hand; see the migrations).

diesel::table! {
    villages (id) {
        id -> Text,
        name -> Text,
        code -> Text,
        next_registration_seq -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    grids (id) {
        id -> Text,
        village_id -> Text,
        name -> Text,
        code -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        full_name -> Text,
        email -> Text,
        phone -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        village_id -> Nullable<Text>,
        membership_status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status_code -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        village_id -> Nullable<Text>,
        at -> Timestamp,
        detail -> Text,
    }
}

diesel::joinable!(grids -> villages (village_id));
diesel::joinable!(users -> villages (village_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    villages,
    grids,
    users,
    refresh_tokens,
    idempotency_keys,
    audit_events
);
