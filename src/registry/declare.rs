//! Declaring a tenant, the register's busiest write. On PostgreSQL a declaration that needs no notice goes
//! into a batch ([`crate::db::batch`]): its unit read in one look-up, then its tenancy, counters and audit
//! event written in one statement with those of the other declarations that arrived meanwhile, and answered
//! once that statement has committed. A declaration into a full unit whose overcrowding notice of the week is
//! already queued needs none and is batched too. The rest — SQLite (whose writer already commits in groups),
//! a late declaration or the first into a full unit that week (whose notice is written in the same
//! transaction), a request with an idempotency key (whose mark is), an admin's (whose answer says whether the
//! person lives elsewhere) — is one transaction of its own.

use std::sync::Arc;

use crate::auth::Caller;
use crate::db::batch::Batcher;
use crate::db::{Backend, Db};
use crate::error::ApiError;
use crate::registry::model::TenancyRow;
use crate::registry::notices;
use crate::registry::repo::NewDeclaration;
use crate::registry::service::{self, PreparedTenant, Site};
use crate::state::AppState;

/// Batches written at once: PostgreSQL runs each batch on one core, so two keep both cores of a small
/// server busy; more only wait for each other's locks.
const LANES: usize = 2;

/// The declarations' batcher, on PostgreSQL (shared by the process's workers).
pub struct Declarations(Option<Arc<Batcher<NewDeclaration, i32>>>);

impl Declarations {
    pub fn for_database(db: &Db) -> Self {
        Declarations(
            (db.backend() == Backend::Postgres).then(|| Batcher::new(db.clone(), LANES, service::store_declarations)),
        )
    }

    /// Batches written and the declarations they held, since the start (`(0, 0)` on SQLite).
    pub fn stats(&self) -> (u64, u64) {
        self.0.as_ref().map_or((0, 0), |batcher| batcher.stats())
    }
}

/// Declares `tenant` in the unit `unit_id` for `caller`: the tenancy and, for an admin or auditor, whether the
/// person is declared living elsewhere.
pub async fn declare(
    state: &AppState,
    declarations: &Declarations,
    caller: Caller,
    unit_id: String,
    tenant: PreparedTenant,
) -> Result<(TenancyRow, Option<bool>), ApiError> {
    let batcher = match &declarations.0 {
        Some(batcher) if !crate::db::request_joins_commits() && !service::sees_duplicates(&caller) => batcher,
        _ => return in_own_transaction(state, caller, unit_id, tenant).await,
    };
    let destination = {
        let (caller, unit_id) = (caller.clone(), unit_id.clone());
        state
            .db
            .lookup(move |conn| service::destination(conn, &caller, &unit_id))
            .await?
    };
    let Some(declaration) = service::plain_declaration(&state.settings, &caller, &destination, &tenant) else {
        return in_own_transaction(state, caller, unit_id, tenant).await;
    };
    let tenancy = declaration.tenancy.clone();
    let site = destination.site;
    let tenants = batcher.submit(&site.property.id, declaration).await?;
    if tenants > site.unit.max_occupants && !destination.noticed {
        notice_overcrowding(&state.db, site, tenants, &tenancy).await;
    }
    Ok((tenancy, None))
}

async fn in_own_transaction(
    state: &AppState,
    caller: Caller,
    unit_id: String,
    tenant: PreparedTenant,
) -> Result<(TenancyRow, Option<bool>), ApiError> {
    let settings = state.settings.clone();
    state
        .db
        .write(move |conn| service::declare_tenancy(conn, &caller, &settings, &unit_id, tenant))
        .await
}

/// Another declaration filled the unit while this one was on its way (the look-up saw room): the week's
/// overcrowding notice is queued now, after the declaration's commit. Should that fail, the declaration stays
/// and the day's compliance sweep queues the notice.
async fn notice_overcrowding(db: &Db, site: Site, tenants: i32, tenancy: &TenancyRow) {
    let Site { unit, property, owner } = site;
    let unit = crate::registry::model::UnitRow {
        active_tenants: tenants,
        ..unit
    };
    let declared_on = crate::ids::local_date(tenancy.declared_at);
    let queued = db
        .write(move |conn| notices::queue_overcrowding(conn, &owner, &property, &unit, declared_on))
        .await;
    if let Err(err) = queued {
        tracing::warn!(error = %err, tenancy_id = %tenancy.id, "overcrowding notice not queued; the daily sweep will");
    }
}
