//! Password hashing with argon2id. Verification of an unknown user, or of an account that has no password
//! yet (made from an imported ledger), runs against a fixed hash so that it takes as long as a wrong
//! password. [`HashGate`] bounds how many hashes run at once: each takes about 19 MiB and a core.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::ApiError;

pub fn hash(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// Checks `password` against `stored`, in equal time whether or not there is a usable stored hash.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (target, usable) = verification_target(stored);
    let Ok(parsed) = PasswordHash::new(target) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && usable
}

/// The hash a password is checked against, and whether a match means anything: the stored hash when it
/// is one, else (no user, or no password set) the dummy hash, which no match can open.
fn verification_target(stored: Option<&str>) -> (&str, bool) {
    match stored {
        Some(stored) if PasswordHash::new(stored).is_ok() => (stored, true),
        _ => (dummy_hash(), false),
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password-for-timing").unwrap_or_default())
}

/// Computes the dummy hash ahead of the first login.
pub fn warm_up() {
    dummy_hash();
}

/// How long a request waits for a turn to hash before it answers 503.
const HASH_WAIT: Duration = Duration::from_secs(5);

/// Turns at the password hasher: at most `concurrency` hashes or verifications run at once, on the
/// blocking pool; the others queue in arrival order and give up with 503 after [`HASH_WAIT`].
pub struct HashGate {
    turns: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    runs: Arc<AtomicUsize>,
}

impl HashGate {
    pub fn new(concurrency: usize) -> Self {
        HashGate {
            turns: Arc::new(Semaphore::new(concurrency.max(1))),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            runs: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// How many hashes or verifications ran.
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash(&password)).await?
    }

    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move || verify(&password, stored.as_deref())).await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let turn = match tokio::time::timeout(HASH_WAIT, self.turns.clone().acquire_owned()).await {
            Ok(Ok(turn)) => turn,
            Ok(Err(closed)) => return Err(ApiError::internal(anyhow::anyhow!("hash turns closed: {closed}"))),
            Err(_) => {
                return Err(ApiError::Unavailable(
                    "The server is busy checking passwords; try again in a moment.".into(),
                ));
            }
        };
        let (running, peak) = (self.running.clone(), self.peak.clone());
        self.runs.fetch_add(1, Ordering::Relaxed);
        // The turn moves into the blocking work: it is held until the hash is done, even when the request
        // that asked for it has gone.
        let outcome = actix_web::web::block(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let value = work();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(turn);
            value
        })
        .await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("wrong password", Some(&h)));
        assert!(!verify("not-a-real-password-for-timing", None));
    }

    /// An account imported without a password must cost a full hash like any other, or login timing
    /// tells who has one.
    #[test]
    fn accounts_without_a_password_are_checked_against_the_dummy_hash() {
        let unset = "!unset:0123456789abcdef";
        assert_eq!(verification_target(Some(unset)), (dummy_hash(), false));
        assert_eq!(verification_target(None), (dummy_hash(), false));
        let real = hash("correct horse battery").unwrap();
        assert_eq!(verification_target(Some(&real)), (real.as_str(), true));
        assert!(!verify("not-a-real-password-for-timing", Some(unset)));
    }
}
