//! The API's routes, mounted in one place. Each handler's method and path are written once, in its actix
//! attribute (`#[get("/properties/{id}")]`), which `#[utoipa::path]` reads too; the server and the OpenAPI
//! document are both built from [`api`], so neither can list a route the other lacks.

use actix_web::middleware::from_fn;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::{
    accounts, audit, compliance, enterprises, idempotency, notices, ops, patrols, photos, planning, registry, reports,
    safety, villages,
};

/// Health, the versioned API (its POSTs replayable by `Idempotency-Key`) and the public rating.
pub fn api(cfg: &mut ServiceConfig) {
    cfg.configure(ops::routes)
        .service(
            scope("/api/v1")
                .wrap(from_fn(idempotency::replay_or_record))
                // The router tries a scope's routes in this order, matching each pattern with {id}s by a
                // regular expression: the registry's routes, which the apps call most, come first (routing
                // was 9-13% of a point read's CPU with them after 25 others). No two routes of one method
                // match the same path but `/inspections/plan` and `/inspections/{id}`: planning's stay
                // before safety's.
                .configure(registry::handlers::routes)
                .configure(registry::import::handlers::routes)
                .configure(accounts::handlers::routes)
                .configure(accounts::training::handlers::routes)
                .configure(villages::handlers::routes)
                .configure(enterprises::handlers::routes)
                .configure(planning::handlers::routes)
                .configure(safety::handlers::routes)
                .configure(safety::appeals::handlers::routes)
                .configure(notices::handlers::routes)
                .configure(compliance::routes)
                .configure(reports::handlers::routes)
                .configure(patrols::handlers::routes)
                .configure(photos::handlers::routes)
                .configure(audit::routes),
        )
        .service(scope("/public/v1").configure(safety::public::routes));
}
