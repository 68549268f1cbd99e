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
/// where the handler gave none), and error bodies as `application/problem+json`, the type they are served with.
struct ResponsesAsServed;

impl Modify for ResponsesAsServed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    let code = status.parse::<u16>().ok();
                    if response.description.is_empty() {
                        response.description = code
                            .and_then(|c| actix_web::http::StatusCode::from_u16(c).ok())
                            .and_then(|c| c.canonical_reason())
                            .unwrap_or("Answer")
                            .to_owned();
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
