//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{accounts, audit, notices, ops, patrols, registry, reports, safety, villages};

#[derive(OpenApi)]
#[openapi(
    info(title = "anzu", description = "Rental registry of a village landlord association (安租)."),
    paths(
        ops::healthz,
        ops::readyz,
        accounts::handlers::register,
        accounts::handlers::login,
        accounts::handlers::refresh,
        accounts::handlers::logout,
        accounts::handlers::me,
        accounts::handlers::create_user,
        accounts::handlers::list_users,
        accounts::handlers::get_user,
        accounts::handlers::change_membership,
        villages::handlers::create_village,
        villages::handlers::list_villages,
        villages::handlers::create_grid,
        villages::handlers::list_grids,
        registry::handlers::create_property,
        registry::handlers::list_properties,
        registry::handlers::get_property,
        registry::handlers::patch_property,
        registry::handlers::create_unit,
        registry::handlers::list_units,
        registry::handlers::get_unit,
        registry::handlers::patch_unit,
        registry::handlers::declare_tenancy,
        registry::handlers::move_out,
        registry::handlers::list_tenancies,
        registry::handlers::get_tenancy,
        registry::handlers::get_identity,
        audit::list_events,
        safety::handlers::get_checklist,
        safety::handlers::create_inspection,
        safety::handlers::list_inspections,
        safety::handlers::get_inspection,
        safety::handlers::list_rectifications,
        safety::handlers::report_fix,
        safety::handlers::verify_fix,
        safety::handlers::delist,
        safety::handlers::reinstate,
        safety::public::public_rating,
        safety::public::plaque,
        notices::handlers::list_notices,
        notices::handlers::retry_notice,
        notices::handlers::run_sweep,
        reports::handlers::summary,
        reports::handlers::ledger_csv,
        reports::handlers::import_ledger,
        patrols::handlers::create_patrol,
        patrols::handlers::list_patrols,
        accounts::handlers::set_password,
        accounts::handlers::forgot_password,
        accounts::handlers::change_password,
        accounts::handlers::deactivate_user,
        accounts::handlers::activate_user,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth, &ResponsesAsServed),
    tags(
        (name = "auth", description = "Registration, login and tokens"),
        (name = "users", description = "Users and membership"),
        (name = "villages", description = "Villages and grids"),
        (name = "registry", description = "Properties, units and tenant declarations"),
        (name = "audit", description = "The audit log"),
        (name = "safety", description = "Checklist, inspections, ratings, rectification orders, delisting"),
        (name = "public", description = "The public rating, no login"),
        (name = "notices", description = "Compliance e-mail and the daily sweep"),
        (name = "reports", description = "Village summary, the ledger as CSV, ledger import"),
        (name = "patrols", description = "Grid patrols"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every response as the server sends it: described (OpenAPI requires a description; the status's reason phrase
/// where the handler gave none), error bodies as `application/problem+json`, the type they are served with, and
/// every status the shared machinery answers declared where it can: 401 on every secured operation; 400, 408, 413,
/// 415 and 422 where a body is read; 400 where a query is; 404 where a path names something; 409 (an
/// `Idempotency-Key` still running) on secured POSTs; 503 wherever the database is used.
struct ResponsesAsServed;

impl Modify for ResponsesAsServed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let uses_database = path.starts_with("/api/v1") || path.starts_with("/public/") || path == "/readyz";
            let operations = [
                (false, &mut item.get),
                (false, &mut item.put),
                (true, &mut item.post),
                (false, &mut item.delete),
                (false, &mut item.options),
                (false, &mut item.head),
                (false, &mut item.patch),
                (false, &mut item.trace),
            ];
            for (is_post, operation) in operations {
                let Some(operation) = operation else { continue };
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let located = |place: ParameterIn| {
                    parameters
                        .iter()
                        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
                };
                let (has_query, has_path) = (located(ParameterIn::Query), located(ParameterIn::Path));
                let has_body = operation.request_body.is_some();
                let mut answered: Vec<u16> = Vec::new();
                if secured {
                    answered.push(401);
                }
                if has_body {
                    answered.extend([400, 408, 413, 415, 422]);
                }
                if has_query {
                    answered.push(400);
                }
                if has_path && uses_database {
                    answered.push(404);
                }
                if is_post && secured {
                    answered.push(409);
                }
                if uses_database {
                    answered.push(503);
                }
                for code in answered {
                    operation
                        .responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| RefOr::T(problem_response(code)));
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    let code = status.parse::<u16>().ok();
                    if response.description.is_empty() {
                        response.description = reason(code);
                    }
                    if code.is_some_and(|c| c >= 400)
                        && let Some(body) = response.content.shift_remove("application/json")
                    {
                        response.content.insert("application/problem+json".to_owned(), body);
                    }
                }
            }
        }
    }
}

/// The reason phrase of a status, as a response's description.
fn reason(code: Option<u16>) -> String {
    code.and_then(|c| actix_web::http::StatusCode::from_u16(c).ok())
        .and_then(|c| c.canonical_reason())
        .unwrap_or("Answer")
        .to_owned()
}

/// An error answer: a problem document.
fn problem_response(code: u16) -> utoipa::openapi::Response {
    use utoipa::openapi::content::ContentBuilder;
    use utoipa::openapi::response::ResponseBuilder;
    ResponseBuilder::new()
        .description(reason(Some(code)))
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}
