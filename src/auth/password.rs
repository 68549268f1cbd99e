//! Password hashing with argon2id. Verification of an unknown user, or of an account that has no password
//! yet (made from an imported ledger), runs against a fixed hash so that it takes as long as a wrong
//! password. [`HashGate`] bounds how many hashes run at once: each takes about 19 MiB and a core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::error::ApiError;

pub fn hash(password: &str) -> Result<String, ApiError> {
    hash_with(password, Memory::Pooled)
}

/// Where a hash's working memory comes from and goes back to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Memory {
    /// Taken from [`MEMORY`] and put back: request-time hashes.
    Pooled,
    /// Allocated and freed: the start-up dummy hash, so that an idle server holds no working memory.
    Once,
}

fn hash_with(password: &str, memory: Memory) -> Result<String, ApiError> {
    let failed = |e: &dyn std::fmt::Display| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}"));
    let params = Params::default();
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::rng().fill_bytes(&mut salt);
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    run_argon2(
        Algorithm::Argon2id,
        Version::V0x13,
        &params,
        (password, &salt),
        &mut output,
        memory,
    )
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against `stored`, in equal time whether or not there is a usable stored hash.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (target, usable) = verification_target(stored);
    let Ok(parsed) = PasswordHash::new(target) else {
        return false;
    };
    matches(password, &parsed) && usable
}

/// Whether `password` gives the output stored in `phc`, compared in constant time.
fn matches(password: &str, phc: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = phc.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    run_argon2(
        algorithm,
        version,
        &params,
        (password, salt.as_ref()),
        &mut output,
        Memory::Pooled,
    )
    .is_ok()
        && Output::new(&output).is_ok_and(|computed| &computed == expected)
}

/// Runs argon2 on working memory taken from [`MEMORY`] and put back after, so that the ~19 MiB of each
/// hash is allocated once per concurrent hash, not per hash: freed and allocated again on whichever
/// blocking thread ran it, the allocator kept it per thread, and 100 registrations grew the process
/// by 1.4 GB even with two hashes at a time (docs/performance.md).
fn run_argon2(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    (password, salt): (&str, &[u8]),
    output: &mut [u8],
    memory: Memory,
) -> argon2::Result<()> {
    let blocks = params.block_count();
    let taken = match memory {
        Memory::Pooled => {
            let mut kept = MEMORY.lock().unwrap_or_else(|p| p.into_inner());
            let found = kept.iter().position(|m| m.len() == blocks);
            found.map(|i| kept.swap_remove(i))
        }
        Memory::Once => None,
    };
    let mut working = taken.unwrap_or_else(|| vec![Block::new(); blocks]);
    let result = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        output,
        &mut working[..],
    );
    if memory == Memory::Pooled {
        MEMORY.lock().unwrap_or_else(|p| p.into_inner()).push(working);
    }
    result
}

/// Argon2 working memory not in use. It holds as many as ever ran at once: the [`HashGate`]'s turns.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

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
    DUMMY.get_or_init(|| hash_with("not-a-real-password-for-timing", Memory::Once).unwrap_or_default())
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
    wait: Duration,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    runs: Arc<AtomicUsize>,
}

impl HashGate {
    pub fn new(concurrency: usize) -> Self {
        HashGate {
            turns: Arc::new(Semaphore::new(concurrency.max(1))),
            wait: HASH_WAIT,
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
        let turn = match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
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

    #[actix_web::test]
    async fn the_gate_bounds_concurrency_and_answers_503_after_its_wait() {
        use actix_web::ResponseError;
        let gate = Arc::new(HashGate {
            wait: Duration::from_millis(100),
            ..HashGate::new(1)
        });
        let slow = {
            let gate = gate.clone();
            actix_web::rt::spawn(async move { gate.run(|| std::thread::sleep(Duration::from_millis(600))).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = gate.run(|| ()).await.expect_err("no turn within the wait");
        assert!(matches!(refused, ApiError::Unavailable(_)));
        let response = refused.error_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers().get("retry-after").unwrap(), "5");
        slow.await.unwrap().unwrap();
        gate.run(|| ()).await.unwrap();
        assert_eq!((gate.peak(), gate.runs()), (1, 2));
    }

    #[test]
    fn verifies_hashes_made_by_the_argon2_crate_itself() {
        use argon2::password_hash::PasswordHasher;
        let made_before = Argon2::default()
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery", Some(&made_before)));
        assert!(!verify("correct horse batterx", Some(&made_before)));
    }

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
