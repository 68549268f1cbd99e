//! The OpenAPI document, generated from the code, must describe every endpoint the contract
//! (`../shared/API.md`) names, with the query parameters it names.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::JsonExt;

/// The contract's endpoints, as written in API.md (paths under `/api/v1` unless they start elsewhere).
const CONTRACT: &[&str] = &[
    "POST /auth/register",
    "POST /auth/login",
    "POST /auth/refresh",
    "POST /auth/logout",
    "GET /me",
    "POST /users",
    "GET /users?role=&membership_status=&village_id=",
    "GET /users/{id}",
    "POST /users/{id}/membership",
    "POST /users/{id}/deactivate",
    "POST /users/{id}/activate",
    "POST /me/password",
    "POST /auth/forgot-password",
    "POST /villages",
    "GET /villages",
    "POST /villages/{id}/grids",
    "GET /villages/{id}/grids",
    "POST /properties",
    "GET /properties?village_id=&grid_id=&status=&stars=&owner_id=&q=",
    "GET /properties/{id}",
    "PATCH /properties/{id}",
    "POST /properties/{id}/delist",
    "POST /properties/{id}/reinstate",
    "POST /properties/{id}/units",
    "GET /properties/{id}/units",
    "GET /units/{id}",
    "PATCH /units/{id}",
    "POST /units/{id}/tenancies",
    "POST /tenancies/{id}/move-out",
    "GET /tenancies?property_id=&unit_id=&active=&late=",
    "GET /tenancies/{id}",
    "GET /tenancies/{id}/identity",
    "GET /checklist",
    "POST /properties/{id}/inspections",
    "GET /properties/{id}/inspections",
    "GET /inspections/{id}",
    "GET /rectifications?property_id=&status=",
    "POST /rectifications/{id}/report",
    "POST /rectifications/{id}/verify",
    "GET /notices?status=&kind=",
    "POST /notices/{id}/retry",
    "POST /compliance/sweep",
    "GET /reports/summary?village_id=",
    "GET /reports/ledger.csv?village_id=",
    "GET /public/v1/ratings/{registration_code}",
    "GET /public/v1/ratings/{registration_code}/plaque.svg",
    "POST /imports/ledger?dry_run=&partial=",
    "POST /grids/{id}/patrols",
    "GET /grids/{id}/patrols",
    "GET /audit-events?entity_type=&entity_id=&actor_id=",
    "POST /inspections/{id}/appeals",
    "GET /appeals?status=&property_id=",
    "GET /appeals/{id}",
    "POST /appeals/{id}/decision",
    "POST /properties/{id}/rerating-requests",
    "GET /properties/{id}/rerating-requests",
    "PUT /properties/{id}/reply",
    "GET /healthz",
    "GET /readyz",
];

#[test]
fn every_contract_endpoint_is_documented_with_its_parameters() {
    let spec = serde_json::to_value(anzu::openapi::document()).unwrap();
    let mut missing = Vec::new();
    for entry in CONTRACT {
        let (method, target) = entry.split_once(' ').unwrap();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let full = if path.starts_with("/public") || path.ends_with("z") {
            path.to_owned()
        } else {
            format!("/api/v1{path}")
        };
        let Some(operation) = spec["paths"][&full].get(method.to_lowercase()) else {
            missing.push(format!("{method} {full}"));
            continue;
        };
        let documented: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for name in query
            .split('&')
            .filter_map(|kv| kv.split('=').next())
            .filter(|n| !n.is_empty())
        {
            if !documented.contains(&name) {
                missing.push(format!("{method} {full} ?{name}"));
            }
        }
        if method != "GET" && !["/auth/logout", "/compliance/sweep", "/notices/{id}/retry"].contains(&path) {
            let has_body = operation.get("requestBody").is_some();
            assert!(has_body, "{method} {full} documents no request body");
        }
        assert!(
            operation["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {full} has no responses"
        );
    }
    assert!(missing.is_empty(), "not in the OpenAPI document: {missing:#?}");
}

#[test]
fn the_document_is_openapi_with_bearer_auth() {
    let spec = serde_json::to_value(anzu::openapi::document()).unwrap();
    assert!(spec.str("openapi").starts_with("3."));
    assert_eq!(spec["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for schema in [
        "Problem",
        "Property",
        "RentalUnit",
        "Tenancy",
        "Inspection",
        "Rectification",
        "Notice",
        "Summary",
    ] {
        assert!(
            spec["components"]["schemas"].get(schema).is_some(),
            "schema {schema} missing"
        );
    }
}

#[test]
fn tenancies_are_documented_with_the_narrow_fields() {
    let spec = serde_json::to_value(anzu::openapi::document()).unwrap();
    let schemas = &spec["components"]["schemas"];
    let tenant = &schemas["TenantView"]["properties"];
    assert!(
        tenant.get("birth_year").is_some() && tenant.get("birth_date").is_none(),
        "{tenant}"
    );
    let tenancy = &schemas["Tenancy"];
    assert!(tenancy["properties"].get("duplicate_elsewhere").is_some());
    let required: Vec<&str> = tenancy["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    assert!(
        !required.contains(&"duplicate_elsewhere"),
        "staff only: absent for others"
    );
    assert!(schemas["Identity"]["properties"].get("birth_date").is_some());
}

/// Each text enum's values in the document are exactly the texts the server reads and writes.
#[test]
fn enum_values_are_the_texts_the_server_speaks() {
    use anzu::accounts::model::{MembershipAction, MembershipStatus};
    use anzu::auth::Role;
    use anzu::notices::model::{NoticeKind, NoticeStatus};
    use anzu::patrols::model::Finding;
    use anzu::rating::{Outcome, Severity};
    use anzu::registry::model::{Gender, IdType, PropertyKind, PropertyStatus, UnitKind};
    use anzu::safety::model::RectificationStatus;
    fn texts<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }
    let document = serde_json::to_value(anzu::openapi::document()).unwrap();
    let schemas = &document["components"]["schemas"];
    for (name, expected) in [
        ("Role", texts(Role::ALL)),
        ("MembershipStatus", texts(MembershipStatus::ALL)),
        ("MembershipAction", texts(MembershipAction::ALL)),
        ("NoticeKind", texts(NoticeKind::ALL)),
        ("NoticeStatus", texts(NoticeStatus::ALL)),
        ("Finding", texts(Finding::ALL)),
        ("Gender", texts(Gender::ALL)),
        ("IdType", texts(IdType::ALL)),
        ("PropertyKind", texts(PropertyKind::ALL)),
        ("PropertyStatus", texts(PropertyStatus::ALL)),
        ("UnitKind", texts(UnitKind::ALL)),
        ("RectificationStatus", texts(RectificationStatus::ALL)),
        ("Outcome", texts(Outcome::ALL)),
        ("Severity", texts(Severity::ALL)),
    ] {
        let documented: Vec<String> = schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is not an enum schema: {}", schemas[name]))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(documented, expected, "{name}");
        // And the texts are what serde writes.
        assert!(
            expected.iter().all(|t| t
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())),
            "{name}: {expected:?}"
        );
    }
}

/// Every response is described, as OpenAPI requires, and every error body is declared as the problem+json it is.
#[test]
fn responses_are_described_and_errors_are_problem_json() {
    let document = serde_json::to_value(anzu::openapi::document()).unwrap();
    let mut problems = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let place = format!("{method} {path} {status}");
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{place}: no description"
                );
                if status.as_str() >= "400" && response.get("content").is_some() {
                    assert!(response["content"].get("application/json").is_none(), "{place}");
                    assert!(response["content"].get("application/problem+json").is_some(), "{place}");
                    problems += 1;
                }
            }
        }
    }
    assert!(problems > 50, "only {problems} error responses found");
}

/// The statuses the shared machinery answers are declared on every operation it serves: 401 where a token is
/// needed, 400/413/415/422 where a body is read, 503 where the database is used; and the headers: `Retry-After` on
/// 429 and 503, `If-Match` where 412 is, `Idempotency-Key` on the POSTs that take it, `ETag` on single resources.
#[test]
fn every_status_the_machinery_answers_is_declared() {
    let document = serde_json::to_value(anzu::openapi::document()).unwrap();
    let mut secured = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let declared = |status: &str| operation["responses"].get(status).is_some();
            let place = format!("{method} {path}");
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                secured += 1;
                assert!(declared("401"), "{place}: 401");
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(declared(status), "{place}: {status}");
                }
            }
            if path.starts_with("/api/v1") {
                assert!(declared("503"), "{place}: 503");
            }
            let headers_of = |status: &str| operation["responses"][status]["headers"].clone();
            for status in ["429", "503"] {
                if declared(status) {
                    assert!(
                        headers_of(status).get("Retry-After").is_some(),
                        "{place}: {status} Retry-After"
                    );
                }
            }
            let parameter = |name: &str| {
                operation["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "header"))
            };
            if declared("412") {
                assert!(parameter("If-Match"), "{place}: If-Match");
            }
            let idempotent = method == "post"
                && operation["security"].as_array().is_some_and(|s| !s.is_empty())
                && !path.starts_with("/api/v1/auth/")
                && path != "/api/v1/me/password";
            assert_eq!(parameter("Idempotency-Key"), idempotent, "{place}: Idempotency-Key");
        }
    }
    let etags = document["paths"]["/api/v1/properties/{id}"]["get"]["responses"]["200"]["headers"].get("ETag");
    assert!(etags.is_some(), "a single property answers an ETag");
    assert!(secured > 30, "{secured} secured operations");
}

/// What generators need for one model per type and typed parameters: pages `$ref` their item type, no schema is
/// named like a common language type, ids are UUIDs, `limit` an integer 1–200, `updated_since` a date-time, and
/// operationIds are unique names that say what the call does.
#[test]
fn the_document_generates_clean_clients() {
    let document = serde_json::to_value(anzu::openapi::document()).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut pages = 0;
    for (name, schema) in schemas {
        if let Some(item) = name.strip_prefix("Paginated_") {
            assert_eq!(
                schema["properties"]["items"]["items"]["$ref"],
                format!("#/components/schemas/{item}"),
                "{name}"
            );
            pages += 1;
        }
    }
    assert!(pages >= 10, "{pages} page types");
    for clash in ["Unit", "Object", "String", "Error", "Result"] {
        assert!(!schemas.contains_key(clash), "a schema named {clash}");
    }
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let id = operation.str("operationId").to_owned();
            assert!(operation_ids.insert(id.clone()), "{id} twice");
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter.str("name");
                let schema = &parameter["schema"];
                if name == "id" || name.ends_with("_id") {
                    assert_eq!(schema["format"], "uuid", "{method} {path}: {name}");
                }
                if name == "limit" {
                    assert_eq!(
                        (
                            schema["type"].as_str(),
                            schema["minimum"].as_u64(),
                            schema["maximum"].as_u64()
                        ),
                        (Some("integer"), Some(1), Some(200))
                    );
                }
                if name == "updated_since" {
                    assert_eq!(schema["format"], "date-time", "{method} {path}");
                }
            }
        }
    }
    for vague in ["summary", "list_events", "plaque", "me"] {
        assert!(!operation_ids.contains(vague), "{vague}");
    }
}

/// The server's reading of one answer type.
type ReadBack = fn(serde_json::Value) -> serde_json::Result<()>;

/// The server's parse-and-validate of one request type.
type Parse = fn(&[u8]) -> Result<(), anzu::error::ApiError>;

/// Each request body's schema, by component name, with the server's own parse-and-validate of it.
fn request_types() -> Vec<(&'static str, Parse)> {
    use anzu::accounts::model as a;
    use anzu::http::json::parse;
    use anzu::registry::model as r;
    use anzu::safety::appeals::model as ap;
    use anzu::safety::model as s;
    vec![
        ("RegisterRequest", |b| parse::<a::RegisterRequest>(b).map(drop)),
        ("CreateUserRequest", |b| parse::<a::CreateUserRequest>(b).map(drop)),
        ("LoginRequest", |b| parse::<a::LoginRequest>(b).map(drop)),
        ("RefreshRequest", |b| parse::<a::RefreshRequest>(b).map(drop)),
        ("SetPasswordRequest", |b| parse::<a::SetPasswordRequest>(b).map(drop)),
        ("MembershipRequest", |b| parse::<a::MembershipRequest>(b).map(drop)),
        ("ReasonRequest", |b| parse::<a::ReasonRequest>(b).map(drop)),
        ("ChangePasswordRequest", |b| {
            parse::<a::ChangePasswordRequest>(b).map(drop)
        }),
        ("ForgotPasswordRequest", |b| {
            parse::<a::ForgotPasswordRequest>(b).map(drop)
        }),
        ("CreateVillage", |b| {
            parse::<anzu::villages::model::CreateVillage>(b).map(drop)
        }),
        ("CreateGrid", |b| {
            parse::<anzu::villages::model::CreateGrid>(b).map(drop)
        }),
        ("CreateProperty", |b| parse::<r::CreateProperty>(b).map(drop)),
        ("PatchProperty", |b| parse::<r::PatchProperty>(b).map(drop)),
        ("CreateUnit", |b| parse::<r::CreateUnit>(b).map(drop)),
        ("PatchUnit", |b| parse::<r::PatchUnit>(b).map(drop)),
        ("DeclareTenancy", |b| parse::<r::DeclareTenancy>(b).map(drop)),
        ("MoveOut", |b| parse::<r::MoveOut>(b).map(drop)),
        ("CreateInspection", |b| parse::<s::CreateInspection>(b).map(drop)),
        ("ReportFix", |b| parse::<s::ReportFix>(b).map(drop)),
        ("VerifyFix", |b| parse::<s::VerifyFix>(b).map(drop)),
        ("Reason", |b| parse::<s::Reason>(b).map(drop)),
        ("CreatePatrol", |b| {
            parse::<anzu::patrols::model::CreatePatrol>(b).map(drop)
        }),
        ("CreateAppeal", |b| parse::<ap::CreateAppeal>(b).map(drop)),
        ("DecideAppeal", |b| parse::<ap::DecideAppeal>(b).map(drop)),
        ("CreateRerating", |b| parse::<ap::CreateRerating>(b).map(drop)),
        ("SetReply", |b| parse::<ap::SetReply>(b).map(drop)),
        ("CreateSession", |b| {
            parse::<anzu::accounts::training::model::CreateSession>(b).map(drop)
        }),
        ("SetAttendees", |b| {
            parse::<anzu::accounts::training::model::SetAttendees>(b).map(drop)
        }),
        ("CreateEnterprise", |b| {
            parse::<anzu::enterprises::model::CreateEnterprise>(b).map(drop)
        }),
        ("LetRequest", |b| {
            parse::<anzu::enterprises::model::LetRequest>(b).map(drop)
        }),
    ]
}

/// The component a `$ref` names.
fn component<'d>(document: &'d serde_json::Value, reference: &serde_json::Value) -> Option<&'d serde_json::Value> {
    let name = reference.as_str()?.strip_prefix("#/components/schemas/")?;
    document["components"]["schemas"].get(name)
}

/// Every string a request can carry is bounded by the document: a format, a pattern or its enum's values.
fn assert_strings_constrained(document: &serde_json::Value, schema: &serde_json::Value, at: &str) {
    if let Some(target) = component(document, &schema["$ref"]) {
        return assert_strings_constrained(document, target, at);
    }
    for branch in schema["oneOf"].as_array().into_iter().flatten() {
        assert_strings_constrained(document, branch, at);
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            assert_strings_constrained(document, property, &format!("{at}.{name}"));
        }
    }
    if schema["items"].is_object() {
        assert_strings_constrained(document, &schema["items"], &format!("{at}[]"));
    }
    let is_string = schema["type"] == "string"
        || schema["type"]
            .as_array()
            .is_some_and(|types| types.iter().any(|t| t == "string"));
    if is_string {
        assert!(
            schema["format"].is_string() || schema["pattern"].is_string() || schema["enum"].is_array(),
            "{at} is an unconstrained string: {schema}"
        );
    }
}

/// The rules the server enforces are in the document, so that a generated client (and a fuzzer) can keep
/// to them; each request body has an example, and each example passes the server's own checks.
#[test]
fn request_bodies_state_the_rules_and_their_examples_pass_them() {
    let document = serde_json::to_value(anzu::openapi::document()).unwrap();
    let schemas = &document["components"]["schemas"];
    let types = request_types();
    let mut bodies = std::collections::BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let Some(json) = operation["requestBody"]["content"].get("application/json") else {
                continue;
            };
            let name = json["schema"].str("$ref").rsplit('/').next().unwrap().to_owned();
            assert!(
                types.iter().any(|(n, _)| *n == name),
                "{method} {path}: {name} has no parse in this test"
            );
            bodies.insert(name);
        }
    }
    assert_eq!(bodies.len(), types.len(), "{bodies:?}");
    for (name, parse) in &types {
        let schema = &schemas[*name];
        assert_strings_constrained(&document, schema, name);
        let example = &schema["example"];
        assert!(example.is_object(), "{name} has no example");
        match parse(example.to_string().as_bytes()) {
            Ok(()) => {}
            // An inspection may be dated at most a year back: a fixed example ages out of that one rule.
            Err(anzu::error::ApiError::Validation(errors))
                if *name == "CreateInspection" && errors.iter().all(|e| e.field == "inspected_on") => {}
            Err(err) => panic!("the example of {name} is refused: {err:?}"),
        }
    }
    // The main answers carry an example too, each one an answer the server's own types read back.
    let answers: [(&str, ReadBack); 5] = [
        ("Property", |v| {
            serde_json::from_value::<anzu::registry::model::Property>(v).map(drop)
        }),
        ("RentalUnit", |v| {
            serde_json::from_value::<anzu::registry::model::Unit>(v).map(drop)
        }),
        ("Tenancy", |v| {
            serde_json::from_value::<anzu::registry::model::Tenancy>(v).map(drop)
        }),
        ("User", |v| {
            serde_json::from_value::<anzu::accounts::model::User>(v).map(drop)
        }),
        ("Village", |v| {
            serde_json::from_value::<anzu::villages::model::Village>(v).map(drop)
        }),
    ];
    for (name, read) in answers {
        let example = schemas[name]["example"].clone();
        let fields = example.as_object().map(|o| o.len()).unwrap_or(0);
        let declared = schemas[name]["properties"]
            .as_object()
            .map(|o| o.len())
            .unwrap_or(usize::MAX);
        assert_eq!(fields, declared, "the example of {name} shows every field");
        read(example).unwrap_or_else(|err| panic!("the example of {name}: {err}"));
    }
    let property = &schemas["CreateProperty"]["properties"];
    assert_eq!(
        (
            property["floors"]["minimum"].as_f64(),
            property["floors"]["maximum"].as_f64()
        ),
        (Some(1.0), Some(100.0))
    );
    assert_eq!(property["floor_area_m2"]["exclusiveMinimum"].as_f64(), Some(0.0));
    assert_eq!(property["village_id"]["format"], "uuid");
    let password = &schemas["RegisterRequest"]["properties"]["password"];
    assert_eq!(
        (password["minLength"].as_u64(), password["maxLength"].as_u64()),
        (Some(10), Some(256))
    );
    assert_eq!(
        schemas["CreateVillage"]["properties"]["code"]["pattern"],
        "^[A-Z]{2,8}$"
    );
    assert_eq!(
        schemas["CreateInspection"]["properties"]["results"]["minItems"].as_u64(),
        Some(1)
    );
    let key = document["paths"]["/api/v1/properties"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .expect("POST /properties takes an Idempotency-Key");
    assert_eq!(key["schema"]["maxLength"].as_u64(), Some(255));
}

/// The date pattern admits exactly the dates the server accepts.
#[test]
fn the_date_pattern_is_the_servers_date_rule() {
    use chrono::NaiveDate;
    let pattern = regex::Regex::new(anzu::validation::schema::DATE_PATTERN).unwrap();
    let mut day = NaiveDate::from_ymd_opt(1899, 12, 1).unwrap();
    while day <= NaiveDate::from_ymd_opt(2101, 1, 31).unwrap() {
        let text = day.format("%Y-%m-%d").to_string();
        assert_eq!(pattern.is_match(&text), anzu::validation::date(&day).is_ok(), "{text}");
        day = day.succ_opt().unwrap();
    }
    for impossible in [
        "2026-02-29",
        "2100-02-29",
        "1900-02-29",
        "2026-04-31",
        "2026-13-01",
        "2026-00-10",
        "2026-1-01",
    ] {
        assert!(!pattern.is_match(impossible), "{impossible}");
    }
    for leap in ["2000-02-29", "2024-02-29", "1904-02-29", "2096-02-29"] {
        assert!(pattern.is_match(leap), "{leap}");
    }
}

/// The free-text patterns refuse exactly the characters the server refuses, and a required text's pattern
/// refuses a blank value as the server does.
#[test]
fn the_text_patterns_are_the_servers_text_rules() {
    let document = serde_json::to_value(anzu::openapi::document()).unwrap();
    let properties = &document["components"]["schemas"]["TenantInput"]["properties"];
    let required = regex::Regex::new(properties["full_name"].str("pattern")).unwrap();
    let optional = regex::Regex::new(properties["origin"].str("pattern")).unwrap();
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let inside = format!("a{c}b");
        let server_takes_inside = anzu::validation::person_name(&inside).is_ok();
        assert_eq!(
            required.is_match(&inside),
            server_takes_inside,
            "U+{:04X} inside",
            c as u32
        );
        assert_eq!(
            optional.is_match(&inside),
            server_takes_inside,
            "U+{:04X} optional",
            c as u32
        );
        let alone = c.to_string();
        assert_eq!(
            required.is_match(&alone),
            anzu::validation::person_name(&alone).is_ok(),
            "U+{:04X} alone",
            c as u32
        );
    }
}

/// actix tries routes in the order they are mounted (the API's in order of traffic, `src/routes.rs`), so a path
/// that two routes of one method both match goes to whichever comes first. Every such pair must be known, and
/// mounted literal-first (tests/plan.rs reaches `/inspections/plan`): a new one fails here until it is added.
#[test]
fn no_two_routes_of_one_method_match_the_same_path_unless_known() {
    const KNOWN: &[(&str, &str, &str)] = &[("get", "/api/v1/inspections/plan", "/api/v1/inspections/{id}")];
    let spec = serde_json::to_value(anzu::openapi::document()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    let segment_overlap = |a: &str, b: &str| a == b || a.starts_with('{') || b.starts_with('{');
    let mut overlaps = Vec::new();
    for (i, (first, first_item)) in paths.iter().enumerate() {
        for (second, second_item) in paths.iter().skip(i + 1) {
            let (a, b): (Vec<&str>, Vec<&str>) = (first.split('/').collect(), second.split('/').collect());
            if a.len() != b.len() || !a.iter().zip(&b).all(|(x, y)| segment_overlap(x, y)) {
                continue;
            }
            for method in first_item.as_object().unwrap().keys() {
                if second_item.get(method).is_some() {
                    // The literal one first, as the known pairs are written.
                    let literal_first = a.iter().filter(|s| s.starts_with('{')).count()
                        <= b.iter().filter(|s| s.starts_with('{')).count();
                    let (x, y) = if literal_first {
                        (first, second)
                    } else {
                        (second, first)
                    };
                    overlaps.push((method.clone(), x.clone(), y.clone()));
                }
            }
        }
    }
    let known: Vec<(String, String, String)> = KNOWN
        .iter()
        .map(|(m, x, y)| (m.to_string(), x.to_string(), y.to_string()))
        .collect();
    assert_eq!(overlaps, known);
    assert!(paths.len() > 50, "the document lists the API's paths");
}
