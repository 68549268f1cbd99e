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
        active -> Bool,
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
        committed_at -> Nullable<Timestamp>,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        response_headers -> Nullable<Text>,
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

diesel::table! {
    properties (id) {
        id -> Text,
        registration_code -> Text,
        owner_id -> Text,
        village_id -> Text,
        grid_id -> Nullable<Text>,
        name -> Text,
        address -> Text,
        kind -> Text,
        floors -> Integer,
        floor_area_m2 -> Double,
        mixed_use_residence -> Bool,
        status -> Text,
        stars -> Nullable<Integer>,
        score -> Nullable<Integer>,
        rating_valid_until -> Nullable<Date>,
        active_tenants -> Integer,
        capacity -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        enterprise_id -> Nullable<Text>,
        enterprise_since -> Nullable<Date>,
        unit_count -> Integer,
    }
}

diesel::table! {
    units (id) {
        id -> Text,
        property_id -> Text,
        label -> Text,
        floor -> Integer,
        area_m2 -> Double,
        kind -> Text,
        max_occupants -> Integer,
        max_occupants_fixed -> Bool,
        active_tenants -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        enterprise_id -> Nullable<Text>,
        enterprise_since -> Nullable<Date>,
    }
}

diesel::table! {
    tenancies (id) {
        id -> Text,
        unit_id -> Text,
        property_id -> Text,
        full_name -> Text,
        id_type -> Text,
        id_number_encrypted -> Text,
        id_lookup -> Text,
        id_number_masked -> Text,
        phone_encrypted -> Nullable<Text>,
        phone_masked -> Nullable<Text>,
        gender -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        origin -> Nullable<Text>,
        employer -> Nullable<Text>,
        move_in_date -> Date,
        move_out_date -> Nullable<Date>,
        declared_at -> Timestamp,
        late -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        enterprise_id -> Nullable<Text>,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    checklist_versions (version) {
        version -> Integer,
        published_at -> Timestamp,
        rules -> Text,
    }
}

diesel::table! {
    checklist_items (version, code) {
        version -> Integer,
        code -> Text,
        position -> Integer,
        category -> Text,
        severity -> Text,
        weight -> Integer,
        title_zh -> Text,
        title_en -> Text,
        applies_to -> Text,
    }
}

diesel::table! {
    inspections (id) {
        id -> Text,
        property_id -> Text,
        inspector_id -> Text,
        checklist_version -> Integer,
        inspected_on -> Date,
        score -> Integer,
        stars -> Integer,
        valid_until -> Nullable<Date>,
        summary -> Nullable<Text>,
        next_star -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inspection_results (inspection_id, item_code) {
        inspection_id -> Text,
        item_code -> Text,
        position -> Integer,
        outcome -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    rectifications (id) {
        id -> Text,
        property_id -> Text,
        inspection_id -> Text,
        item_code -> Text,
        severity -> Text,
        due_on -> Date,
        status -> Text,
        report_note -> Nullable<Text>,
        verify_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    notices (id) {
        id -> Text,
        kind -> Text,
        recipient_id -> Text,
        recipient_email -> Text,
        property_id -> Nullable<Text>,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        sealed_link -> Nullable<Text>,
    }
}

diesel::table! {
    patrols (id) {
        id -> Text,
        grid_id -> Text,
        inspector_id -> Text,
        patrolled_on -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    patrol_visits (patrol_id, property_id) {
        patrol_id -> Text,
        property_id -> Text,
        position -> Integer,
        finding -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    password_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    photos (id) {
        id -> Text,
        property_id -> Text,
        inspection_id -> Text,
        item_code -> Text,
        rectification_id -> Nullable<Text>,
        kind -> Text,
        uploaded_by -> Text,
        content_type -> Text,
        width -> Integer,
        height -> Integer,
        byte_size -> Integer,
        thumbnail_byte_size -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    photo_blobs (photo_id) {
        photo_id -> Text,
        image -> Binary,
        thumbnail -> Binary,
    }
}

diesel::table! {
    enterprises (id) {
        id -> Text,
        village_id -> Text,
        name -> Text,
        unified_social_credit_code -> Text,
        contact_name -> Text,
        contact_phone_encrypted -> Text,
        contact_phone_masked -> Text,
        registered_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    daily_runs (job, day) {
        job -> Text,
        day -> Date,
        runner -> Text,
        claimed_until -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        report -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> Timestamp,
        count -> Integer,
    }
}

diesel::table! {
    training_sessions (id) {
        id -> Text,
        village_id -> Text,
        title -> Text,
        held_on -> Date,
        trainer -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    training_attendances (session_id, landlord_id) {
        session_id -> Text,
        landlord_id -> Text,
        valid_until -> Date,
    }
}

diesel::joinable!(grids -> villages (village_id));
diesel::joinable!(users -> villages (village_id));
diesel::table! {
    console_sessions (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    appeals (id) {
        id -> Text,
        inspection_id -> Text,
        property_id -> Text,
        appellant_id -> Text,
        reason -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reinspected_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    rerating_requests (id) {
        id -> Text,
        property_id -> Text,
        requested_by -> Text,
        note -> Nullable<Text>,
        status -> Text,
        closed_by_inspection_id -> Nullable<Text>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    property_replies (property_id) {
        property_id -> Text,
        text -> Text,
        author_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(console_sessions -> users (user_id));
diesel::joinable!(properties -> villages (village_id));
diesel::joinable!(properties -> grids (grid_id));
diesel::joinable!(properties -> users (owner_id));
diesel::joinable!(units -> properties (property_id));
diesel::joinable!(tenancies -> units (unit_id));
diesel::joinable!(tenancies -> properties (property_id));
diesel::joinable!(inspections -> properties (property_id));
diesel::joinable!(inspection_results -> inspections (inspection_id));
diesel::joinable!(rectifications -> properties (property_id));
diesel::joinable!(rectifications -> inspections (inspection_id));
diesel::joinable!(notices -> users (recipient_id));
diesel::joinable!(appeals -> properties (property_id));
diesel::joinable!(rerating_requests -> properties (property_id));
diesel::joinable!(property_replies -> properties (property_id));
diesel::joinable!(patrols -> grids (grid_id));
diesel::joinable!(patrol_visits -> patrols (patrol_id));
diesel::joinable!(patrol_visits -> properties (property_id));

diesel::joinable!(photos -> properties (property_id));
diesel::joinable!(photos -> inspections (inspection_id));
diesel::joinable!(photos -> rectifications (rectification_id));
diesel::joinable!(photo_blobs -> photos (photo_id));
diesel::joinable!(training_sessions -> villages (village_id));
diesel::joinable!(training_attendances -> training_sessions (session_id));
diesel::joinable!(training_attendances -> users (landlord_id));

diesel::allow_tables_to_appear_in_same_query!(
    rate_limits,
    daily_runs,
    villages,
    grids,
    users,
    refresh_tokens,
    console_sessions,
    idempotency_keys,
    audit_events,
    properties,
    units,
    tenancies,
    checklist_versions,
    checklist_items,
    inspections,
    inspection_results,
    rectifications,
    notices,
    patrols,
    patrol_visits,
    password_tokens,
    photos,
    photo_blobs,
    appeals,
    rerating_requests,
    property_replies,
    training_sessions,
    training_attendances,
    enterprises,
);
