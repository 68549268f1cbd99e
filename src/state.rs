//! What every handler can reach through `web::Data<AppState>`: the settings, the database, the token keys and
//! the guards in front of passwords, the revocation list, the cursor and identity keys. Only types of the
//! layers below (auth, crypto, rate limits, db, config) live here, so that every domain may use it; a
//! domain's own shared state (the public rating cache) is its own `web::Data`.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::password::HashGate;
use crate::auth::revocation::RevokedUsers;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::IdentityCipher;
use crate::db::Db;
use crate::rate_limit::{FailureLimiter, RequestLimiter, SharedCounts};

/// What every handler can reach.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub tokens: TokenKeys,
    pub login_limiter: FailureLimiter,
    pub address_limiter: FailureLimiter,
    /// Limits register, set-password and forgot-password per address.
    pub account_limiter: RequestLimiter,
    /// Bounds the password hashes running at once.
    pub hashing: HashGate,
    /// Deactivated users, whose access tokens are refused.
    pub revoked: Arc<RevokedUsers>,
    /// Signs pagination cursors.
    pub cursor_key: Vec<u8>,
    /// Encrypts and hashes tenant identity numbers.
    pub identity: IdentityCipher,
    /// The time token expiry and idempotency leases are measured by: the system clock but in tests.
    pub clock: Clock,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, clock: Clock) -> anyhow::Result<Self> {
        let window = Duration::from_secs(settings.login_window_secs);
        let shared = SharedCounts::for_database(&db, &settings.database_url);
        let mut cursor_key = settings.jwt_secret.clone();
        cursor_key.extend_from_slice(b"/cursor");
        Ok(AppState {
            tokens: TokenKeys::new(&settings.jwt_secret, settings.access_token_ttl_secs)?.with_clock(clock.clone()),
            login_limiter: FailureLimiter::new(settings.login_max_failures, window, shared.clone()),
            address_limiter: FailureLimiter::new(settings.login_address_max_failures, window, shared.clone()),
            account_limiter: RequestLimiter::per_minute(settings.account_requests_per_minute, shared),
            hashing: HashGate::new(settings.password_hash_concurrency),
            revoked: Arc::default(),
            cursor_key,
            identity: IdentityCipher::new(&settings.data_key),
            clock,
            settings: Arc::new(settings),
            db,
        })
    }

    /// Keeps the revocation list fresh; runs for as long as the server does.
    pub fn revocation_task(&self) -> impl std::future::Future<Output = ()> + 'static {
        let every = Duration::from_secs(self.settings.revocation_refresh_secs);
        crate::auth::revocation::keep_fresh(self.db.clone(), self.revoked.clone(), every)
    }
}
