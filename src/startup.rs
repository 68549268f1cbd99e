//! Builds the application (one route table) and runs the server.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::IdentityCipher;
use crate::db::Db;
use crate::http::body_deadline::{self, BodyDeadline};
use crate::http::metrics::{self as request_metrics, Metrics};
use crate::http::{headers, json, nul, request_id};
use crate::openapi::allowed_methods;
use crate::safety::public::PublicRatings;
use crate::state::AppState;
use crate::{notices, registry};

/// What the application's workers share: the state every handler can reach, and the public rating cache
/// and limit (one per process, not per worker).
#[derive(Clone)]
pub struct Shared {
    pub state: web::Data<AppState>,
    pub public: web::Data<PublicRatings>,
    /// The declarations' batcher (PostgreSQL).
    pub declarations: web::Data<registry::declare::Declarations>,
}

impl Shared {
    pub fn new(settings: Settings, db: Db) -> anyhow::Result<Self> {
        Self::with_clock(settings, db, Clock::system())
    }

    /// The state of an app that reads time from `clock` (a test's, which it can move ahead).
    pub fn with_clock(settings: Settings, db: Db, clock: Clock) -> anyhow::Result<Self> {
        let public = web::Data::new(PublicRatings::shared_with_others(
            settings.public_rate_per_minute,
            &db,
            &settings.database_url,
        ));
        Ok(Shared {
            declarations: web::Data::new(registry::declare::Declarations::for_database(&db)),
            state: web::Data::new(AppState::new(settings, db, clock)?),
            public,
        })
    }
}

/// The request metrics, exported at `/metrics` (behind `ANZU_METRICS_TOKEN` when it is set).
pub fn metrics(settings: &Settings) -> anyhow::Result<Metrics> {
    Metrics::new(settings.metrics_token.clone())
}

/// The whole application: middleware, extractor settings and the route table.
pub fn build_app(
    shared: Shared,
    metrics: Metrics,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let Shared {
        state,
        public,
        declarations,
    } = shared;
    App::new()
        .app_data(web::Data::new(BodyDeadline(Duration::from_secs(
            state.settings.body_timeout_secs,
        ))))
        .app_data(state)
        .app_data(public)
        .app_data(declarations)
        .app_data(web::Data::new(metrics))
        .app_data(web::PayloadConfig::new(json::MAX_BODY_BYTES))
        .app_data(web::QueryConfig::default().error_handler(json::query_error))
        .app_data(web::PathConfig::default().error_handler(json::path_error))
        .wrap(from_fn(nul::refuse))
        .wrap(from_fn(body_deadline::enforce))
        .wrap(from_fn(headers::secure))
        .wrap(from_fn(request_id::propagate))
        .wrap(from_fn(request_metrics::record))
        .wrap(TracingLogger::<crate::http::root_span::RootSpan>::new())
        .route("/metrics", web::get().to(request_metrics::export))
        // The router tries routes in the order they are mounted, each pattern with a segment like `{id}` by a
        // regular expression: the API (the mobile apps' calls, most of the traffic) before the pages' 40
        // routes. No page path is also an API path (`/console/`, `/r/`, `/static/`, `/docs`).
        .into_utoipa_app()
        .configure(crate::routes::api)
        .into_app()
        .configure(crate::openapi::routes)
        .configure(crate::pages::routes)
        .default_service(web::to(allowed_methods::answer))
}

/// Brings the database up to date: pending migrations, then identity ciphertexts in an older format
/// re-encrypted (this needs the data key, so it cannot be a migration).
pub fn prepare_database(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    db.migrate()?;
    let upgraded = registry::service::upgrade_identity_ciphertexts(db, &IdentityCipher::new(&settings.data_key))
        .map_err(|e| anyhow::anyhow!("cannot re-encrypt identity numbers: {e:#}"))?;
    if upgraded > 0 {
        tracing::info!(
            tenancies = upgraded,
            "re-encrypted identity numbers bound to their rows"
        );
    }
    Ok(())
}

/// Migrates the database and serves until SIGTERM (in-flight requests finish first, up to 30 s) or Ctrl-C.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, settings.db_max_connections)?.limit_reads(settings.db_max_reads);
    let started = std::time::Instant::now();
    web::block({
        let db = db.clone();
        let settings = settings.clone();
        move || {
            db.wait_until_reachable(Duration::from_secs(settings.db_wait_secs))?;
            prepare_database(&db, &settings)
        }
    })
    .await??;
    let bind = settings.bind;
    let workers = settings.workers;
    let delivery = notices::worker::Delivery::from_settings(db.clone(), &settings)?;
    let poll = Duration::from_secs(settings.notice_poll_secs);
    let sweep_at = settings.sweep_at;
    let shared = Shared::new(settings, db.clone())?;
    let state = shared.state.clone();
    actix_web::rt::spawn(delivery.run(poll));
    state.revoked.refresh(&state.db).await?;
    actix_web::rt::spawn(state.revocation_task());
    actix_web::rt::spawn(crate::compliance::run_daily(db, state.settings.clone(), sweep_at));
    let metrics = metrics(&state.settings)?;
    web::block(crate::auth::password::warm_up).await?;
    let server = HttpServer::new(move || build_app(shared.clone(), metrics.clone()))
        .shutdown_timeout(30)
        .workers(workers)
        .bind(bind)?
        .run();
    tracing::info!(%bind, startup_ms = started.elapsed().as_millis() as u64, "anzu is serving");
    server.await?;
    tracing::info!("anzu stopped");
    Ok(())
}
