//! Settings, read from `ANZU_*` environment variables and validated at start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng;

/// Everything the service can be told from outside, with its defaults.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub db_max_connections: u32,
    /// Reads that scan (lists, reports, exports) run at once; the rest wait their turn.
    pub db_max_reads: u32,
    /// Server threads (actix workers): each answers many connections, and each keeps a database connection
    /// of its own for look-ups (`Db::lookup`).
    pub workers: usize,
    /// How long an `Idempotency-Key` claimed by a request that never committed keeps a retry waiting (409).
    pub idempotency_lease_secs: i64,
    /// How long a request's body may take to arrive.
    pub body_timeout_secs: u64,
    /// How long start-up waits for the database to become reachable.
    pub db_wait_secs: u64,
    pub bind: SocketAddr,
    pub production: bool,
    pub jwt_secret: Vec<u8>,
    /// The 32-byte key that encrypts identity numbers at rest.
    pub data_key: [u8; 32],
    pub smtp_url: Option<String>,
    /// How long one e-mail send may take, connecting included.
    pub smtp_timeout_secs: u64,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    pub log_filter: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub login_max_failures: u32,
    pub login_window_secs: u64,
    /// Failed logins allowed from one client address per window, whatever the accounts.
    pub login_address_max_failures: u32,
    /// Requests to register, set-password and forgot-password allowed per client address per minute, each.
    pub account_requests_per_minute: u32,
    /// Password hashes allowed to run at once (each takes about 19 MiB and a core).
    pub password_hash_concurrency: usize,
    /// How often each process reads the deactivated users again.
    pub revocation_refresh_secs: u64,
    /// Floor area each occupant needs; a unit's default `max_occupants` is its area divided by this.
    pub min_area_per_person_m2: f64,
    /// Days after moving in within which a tenant must be declared.
    pub declaration_deadline_days: i64,
    /// Months a landlord's training counts for, from the date of the session attended.
    pub training_valid_months: u32,
    /// Days after a tenancy ends that its tenant's personal data is kept; the daily purge erases it then.
    pub retention_days: i64,
    /// The numbers that turn inspection results into a rating.
    pub rating_rules: crate::rating::RatingRules,
    /// When the sweep reminds owners of deadlines and expiring ratings.
    pub reminder_stages: ReminderStages,
    /// When inspections and patrol visits fall due, by risk.
    pub inspection_plan: crate::risk::PlanRules,
    /// Where the public reaches this service; door plaques link to it.
    pub public_base_url: String,
    /// Public rating look-ups allowed per address per minute.
    pub public_rate_per_minute: u32,
    /// Minutes without a request after which a console session ends.
    pub console_idle_minutes: i64,
    /// How the public reaches the association (a phone number, an office), shown on the public rating page.
    pub association_contact: Option<String>,
    /// The reverse proxies in front of the service, whose forwarding headers name the client's address.
    pub trust_proxy: TrustedProxies,
    /// When set, `/metrics` answers only requests bearing this token.
    pub metrics_token: Option<String>,
    /// How often the server looks for notices to deliver.
    pub notice_poll_secs: u64,
    /// How long a delivery claim lasts before another worker may take the notice over.
    pub notice_claim_secs: i64,
    /// When the daily compliance sweep runs, in China Standard Time.
    pub sweep_at: chrono::NaiveTime,
    /// Where generated secrets are kept for a local run.
    pub data_dir: PathBuf,
    /// What was generated at start, to be logged once logging is up.
    pub generated_secrets_file: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    // Secrets never reach a log through a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("production", &self.production)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_dir", &self.mail_dir)
            .finish_non_exhaustive()
    }
}

/// Where a database URL points, for an operator's message: `host:port` of a PostgreSQL URL (no user, password
/// or options), or the SQLite file's path.
pub fn database_target(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    match host_port {
        "" => "the local socket".into(),
        h if h.contains(':') && !h.ends_with(']') => h.to_owned(),
        h => format!("{h}:5432"),
    }
}

/// A URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let user_info = &url[scheme_end + 3..at];
            let user = user_info.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

const SECRETS_FILE: &str = "anzu-secrets.env";

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let vars: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("ANZU_")).collect();
        Self::from_vars(&vars)
    }

    /// Reads settings from a map of `ANZU_*` variables; missing secrets are generated and kept on disk
    /// unless `ANZU_ENV=production`. Past the few that decide others (the environment, paths, secrets), the body is
    /// a table, one line per setting with its default and range: longer than 60 lines, and clearer whole.
    pub fn from_vars(vars: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |name: &str| vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let production = match get("ANZU_ENV").as_deref() {
            None | Some("development") | Some("test") => false,
            Some("production") => true,
            Some(other) => bail!("ANZU_ENV must be `production`, `development` or `test`, not `{other}`"),
        };
        let database_url = get("ANZU_DATABASE_URL").unwrap_or_else(|| "anzu.db".into());
        let data_dir = match get("ANZU_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None if Backend::of_url(&database_url) == Backend::Sqlite => Path::new(&database_url)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            None => PathBuf::new(),
        };
        let bind = get("ANZU_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("ANZU_BIND must be an address and port such as 127.0.0.1:8080")?;

        let (jwt_secret, data_key, generated_secrets_file) = secrets(&get, production, &data_dir)?;

        let settings = Settings {
            db_max_connections: parse_number(&get, "ANZU_DB_MAX_CONNECTIONS", 10, 1..=1000)?,
            db_max_reads: parse_number(&get, "ANZU_DB_MAX_READS", 2 * default_workers() as u32, 1..=1000)?,
            workers: parse_number(&get, "ANZU_WORKERS", default_workers(), 1..=256)?,
            db_wait_secs: parse_number(&get, "ANZU_DB_WAIT_SECS", 30, 0..=3600)?,
            body_timeout_secs: parse_number(&get, "ANZU_BODY_TIMEOUT_SECS", 60, 1..=3600)?,
            idempotency_lease_secs: parse_number(&get, "ANZU_IDEMPOTENCY_LEASE_SECS", 60, 1..=86_400)?,
            database_url,
            bind,
            production,
            jwt_secret: jwt_secret.into_bytes(),
            data_key,
            smtp_url: get("ANZU_SMTP_URL"),
            smtp_timeout_secs: parse_number(&get, "ANZU_SMTP_TIMEOUT_SECS", 30, 1..=3600)?,
            mail_dir: PathBuf::from(get("ANZU_MAIL_DIR").unwrap_or_else(|| "outbox".into())),
            mail_from: get("ANZU_MAIL_FROM").unwrap_or_else(|| "anzu <no-reply@anzu.local>".into()),
            log_filter: get("ANZU_LOG").unwrap_or_else(|| "info".into()),
            access_token_ttl_secs: parse_number(&get, "ANZU_ACCESS_TOKEN_TTL_SECS", 900, 1..=86_400)?,
            refresh_token_ttl_days: parse_number(&get, "ANZU_REFRESH_TOKEN_TTL_DAYS", 30, 1..=365)?,
            login_max_failures: parse_number(&get, "ANZU_LOGIN_MAX_FAILURES", 5, 1..=1000)?,
            login_window_secs: parse_number(&get, "ANZU_LOGIN_WINDOW_SECS", 900, 1..=86_400)?,
            login_address_max_failures: parse_number(&get, "ANZU_LOGIN_ADDRESS_MAX_FAILURES", 100, 1..=1_000_000)?,
            account_requests_per_minute: parse_number(&get, "ANZU_ACCOUNT_REQUESTS_PER_MINUTE", 10, 1..=1_000_000)?,
            password_hash_concurrency: parse_number(
                &get,
                "ANZU_PASSWORD_HASH_CONCURRENCY",
                std::thread::available_parallelism().map_or(1, |n| n.get()),
                1..=256,
            )?,
            revocation_refresh_secs: parse_number(&get, "ANZU_REVOCATION_REFRESH_SECS", 5, 1..=10)?,
            min_area_per_person_m2: parse_number(&get, "ANZU_MIN_AREA_PER_PERSON", 5.0, 0.5..=1000.0)?,
            declaration_deadline_days: parse_number(&get, "ANZU_DECLARATION_DEADLINE_DAYS", 3, 0..=365)?,
            training_valid_months: parse_number(&get, "ANZU_TRAINING_VALID_MONTHS", 24, 1..=120)?,
            retention_days: parse_number(&get, "ANZU_RETENTION_DAYS", 730, 30..=36_500)?,
            rating_rules: rating_rules(get("ANZU_RATING_RULES"))?,
            reminder_stages: reminder_stages(get("ANZU_REMINDER_STAGES"))?,
            inspection_plan: inspection_plan(get("ANZU_INSPECTION_PLAN"))?,
            public_base_url: get("ANZU_PUBLIC_BASE_URL")
                .unwrap_or_else(|| format!("http://{bind}"))
                .trim_end_matches('/')
                .to_owned(),
            public_rate_per_minute: parse_number(&get, "ANZU_PUBLIC_RATE_PER_MINUTE", 60, 1..=100_000_000)?,
            trust_proxy: TrustedProxies::parse(get("ANZU_TRUST_PROXY").as_deref())?,
            metrics_token: get("ANZU_METRICS_TOKEN"),
            association_contact: get("ANZU_ASSOCIATION_CONTACT"),
            console_idle_minutes: parse_number(&get, "ANZU_CONSOLE_IDLE_MINUTES", 30, 1..=1440)?,
            notice_poll_secs: parse_number(&get, "ANZU_NOTICE_POLL_SECS", 5, 1..=3600)?,
            notice_claim_secs: parse_number(&get, "ANZU_NOTICE_CLAIM_SECS", 300, 1..=86_400)?,
            sweep_at: chrono::NaiveTime::parse_from_str(
                &get("ANZU_SWEEP_AT").unwrap_or_else(|| "06:00".into()),
                "%H:%M",
            )
            .context("ANZU_SWEEP_AT must be a time such as 06:00")?,
            data_dir,
            generated_secrets_file,
        };
        // A send still running when its claim ends would be sent a second time by another worker.
        if settings.smtp_timeout_secs >= settings.notice_claim_secs.unsigned_abs() {
            bail!("ANZU_SMTP_TIMEOUT_SECS must be shorter than ANZU_NOTICE_CLAIM_SECS");
        }
        Ok(settings)
    }
}

/// The JWT secret and the data key: from the environment; outside production, else from the data folder's
/// secrets file, generated (and written there, 0600) on first run. Returns the secrets file when written.
fn secrets(
    get: &impl Fn(&str) -> Option<String>,
    production: bool,
    data_dir: &Path,
) -> anyhow::Result<(String, [u8; 32], Option<PathBuf>)> {
    let mut stored = read_secrets_file(&data_dir.join(SECRETS_FILE))?;
    let mut generated = false;
    let mut secret = |name: &str, make: fn() -> String| -> anyhow::Result<String> {
        if let Some(value) = get(name) {
            return Ok(value);
        }
        if production {
            bail!("{name} must be set when ANZU_ENV=production");
        }
        if let Some(value) = stored.get(name) {
            return Ok(value.clone());
        }
        generated = true;
        let value = make();
        stored.insert(name.to_owned(), value.clone());
        Ok(value)
    };
    let jwt_secret = secret("ANZU_JWT_SECRET", || B64.encode(random_bytes::<48>()))?;
    let data_key_text = secret("ANZU_DATA_KEY", || B64.encode(random_bytes::<32>()))?;
    let generated_secrets_file = if generated {
        let path = data_dir.join(SECRETS_FILE);
        write_secrets_file(&path, &stored)?;
        Some(path)
    } else {
        None
    };
    if jwt_secret.len() < 32 {
        bail!("ANZU_JWT_SECRET must be at least 32 characters");
    }
    let data_key = parse_data_key(&data_key_text)?;
    Ok((jwt_secret, data_key, generated_secrets_file))
}

/// `ANZU_RATING_RULES`: a JSON object of rating rules, checked; the defaults when unset.
fn rating_rules(json: Option<String>) -> anyhow::Result<crate::rating::RatingRules> {
    let Some(json) = json else {
        return Ok(Default::default());
    };
    let rules: crate::rating::RatingRules = serde_json::from_str(&json)
        .context("ANZU_RATING_RULES must be a JSON object of rating rules (see docs/rating.md)")?;
    rules.check().map_err(|e| anyhow::anyhow!("ANZU_RATING_RULES: {e}"))?;
    Ok(rules)
}

/// The days on which the sweep reminds an owner (`ANZU_REMINDER_STAGES`); each stage is reminded once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReminderStages {
    /// Days before a rectification order's deadline.
    pub rectification_before_days: Vec<u32>,
    /// Days after a missed deadline.
    pub rectification_after_days: Vec<u32>,
    /// Days before a rating expires.
    pub rating_expiry_before_days: Vec<u32>,
    /// Days before a landlord's training lapses.
    pub training_expiry_before_days: Vec<u32>,
}

impl Default for ReminderStages {
    fn default() -> Self {
        ReminderStages {
            rectification_before_days: vec![3, 1],
            rectification_after_days: vec![1],
            rating_expiry_before_days: vec![60, 30, 7],
            training_expiry_before_days: vec![30],
        }
    }
}

impl ReminderStages {
    /// Every stage between 0 and 366 days, none twice in a list.
    pub fn check(&self) -> Result<(), String> {
        for (name, days) in [
            ("rectification_before_days", &self.rectification_before_days),
            ("rectification_after_days", &self.rectification_after_days),
            ("rating_expiry_before_days", &self.rating_expiry_before_days),
            ("training_expiry_before_days", &self.training_expiry_before_days),
        ] {
            if days.iter().any(|d| *d > 366) {
                return Err(format!("{name}: each stage must be 0 to 366 days"));
            }
            let unique: std::collections::BTreeSet<&u32> = days.iter().collect();
            if unique.len() != days.len() {
                return Err(format!("{name}: a stage is listed twice"));
            }
        }
        if self.rectification_after_days.contains(&0) {
            return Err("rectification_after_days: a deadline is missed from the day after, so 1 or more".into());
        }
        Ok(())
    }

    /// The stage to remind at when `days_left` days remain: the nearest stage not yet passed (3 days left → the
    /// 3-day stage; 2 → still the 3-day one, if not sent; 1 → the 1-day stage). None when too early or past due.
    pub fn before(stages: &[u32], days_left: i64) -> Option<u32> {
        stages
            .iter()
            .copied()
            .filter(|stage| i64::from(*stage) >= days_left && days_left >= 0)
            .min()
    }

    /// The stage to remind at `days_late` days after a missed deadline: the latest stage reached.
    pub fn after(stages: &[u32], days_late: i64) -> Option<u32> {
        stages
            .iter()
            .copied()
            .filter(|stage| i64::from(*stage) <= days_late)
            .max()
    }
}

/// `ANZU_REMINDER_STAGES`: a JSON object of reminder stages, checked; the defaults when unset.
fn reminder_stages(json: Option<String>) -> anyhow::Result<ReminderStages> {
    let Some(json) = json else {
        return Ok(ReminderStages::default());
    };
    let stages: ReminderStages = serde_json::from_str(&json)
        .context("ANZU_REMINDER_STAGES must be a JSON object of reminder stages (see docs/configuration.md)")?;
    stages
        .check()
        .map_err(|e| anyhow::anyhow!("ANZU_REMINDER_STAGES: {e}"))?;
    Ok(stages)
}

/// `ANZU_INSPECTION_PLAN`: a JSON object of the inspection plan's intervals and patrol frequencies, checked; the
/// defaults when unset.
fn inspection_plan(json: Option<String>) -> anyhow::Result<crate::risk::PlanRules> {
    let Some(json) = json else {
        return Ok(Default::default());
    };
    let rules: crate::risk::PlanRules = serde_json::from_str(&json)
        .context("ANZU_INSPECTION_PLAN must be a JSON object of plan rules (see docs/rating.md)")?;
    rules
        .check()
        .map_err(|e| anyhow::anyhow!("ANZU_INSPECTION_PLAN: {e}"))?;
    Ok(rules)
}

/// Which reverse proxies' forwarding headers to believe (`ANZU_TRUST_PROXY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedProxies {
    /// Clients connect directly: the TCP peer is the client.
    None,
    /// This many proxies stand in front, one behind the other; the peer is the nearest.
    Hops(u8),
    /// The proxies' own addresses: any other peer is a client.
    Addresses(Vec<std::net::IpAddr>),
}

impl TrustedProxies {
    /// `false` or `0`: none; `true`: one; a number: that many; or a comma-separated list of proxy addresses.
    fn parse(text: Option<&str>) -> anyhow::Result<Self> {
        const HELP: &str = "ANZU_TRUST_PROXY must be false, true, a number of proxies from 0 to 10, \
                            or a comma-separated list of the proxies' IP addresses";
        Ok(match text {
            None | Some("false") | Some("0") => TrustedProxies::None,
            Some("true") => TrustedProxies::Hops(1),
            Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => match text.parse::<u8>() {
                Ok(hops @ 1..=10) => TrustedProxies::Hops(hops),
                _ => bail!("{HELP}"),
            },
            Some(list) => TrustedProxies::Addresses(
                list.split(',')
                    .map(|a| a.trim().parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e: std::net::AddrParseError| anyhow::anyhow!("{HELP} ({e})"))?,
            ),
        })
    }
}

/// One server thread per core the process may use.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn parse_number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = get(name) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => bail!(
            "{name} must be a number from {} to {}, not `{text}`",
            range.start(),
            range.end()
        ),
    }
}

fn parse_data_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        B64.decode(text).ok()
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .context("ANZU_DATA_KEY must be 32 bytes, written as base64 or 64 hex digits")
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn read_secrets_file(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_secrets_file(path: &Path, values: &HashMap<String, String>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut keys: Vec<_> = values.keys().collect();
    keys.sort();
    let mut text = String::from("# Generated by anzu for a local run. Keep private; set ANZU_* in production.\n");
    for key in keys {
        text.push_str(&format!("{key}={}\n", values[key]));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = crate::private_file::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend a database URL names: a `postgres://` or `postgresql://` URL, else an SQLite file path.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn production_refuses_missing_secrets() {
        let err = Settings::from_vars(&vars(&[
            ("ANZU_ENV", "production"),
            ("ANZU_DATABASE_URL", "/nonexistent/x.db"),
        ]))
        .expect_err("must refuse");
        assert!(err.to_string().contains("ANZU_JWT_SECRET"), "{err}");
    }

    #[test]
    fn generates_secrets_once_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("anzu.db");
        let v = vars(&[("ANZU_DATABASE_URL", db.to_str().unwrap())]);
        let first = Settings::from_vars(&v).unwrap();
        let file = first.generated_secrets_file.clone().expect("generated");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = Settings::from_vars(&v).unwrap();
        assert!(second.generated_secrets_file.is_none());
        assert_eq!(first.jwt_secret, second.jwt_secret);
        assert_eq!(first.data_key, second.data_key);
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("anzu.db");
        for (name, value) in [
            ("ANZU_BIND", "nowhere"),
            ("ANZU_DB_MAX_CONNECTIONS", "0"),
            ("ANZU_DB_MAX_READS", "0"),
            ("ANZU_DATA_KEY", "short"),
        ] {
            let err = Settings::from_vars(&vars(&[("ANZU_DATABASE_URL", db.to_str().unwrap()), (name, value)]))
                .expect_err("must refuse");
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn reminder_stages_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("anzu.db");
        let with = |stages: &str| {
            Settings::from_vars(&vars(&[
                ("ANZU_DATABASE_URL", db.to_str().unwrap()),
                ("ANZU_REMINDER_STAGES", stages),
            ]))
        };
        let set = with(r#"{"rating_expiry_before_days": [90, 7]}"#)
            .unwrap()
            .reminder_stages;
        assert_eq!(set.rating_expiry_before_days, [90, 7]);
        assert_eq!(set.rectification_before_days, [3, 1], "the rest keep their defaults");
        for bad in [
            r#"{"rectification_before_days": [400]}"#,
            r#"{"rectification_before_days": [3, 3]}"#,
            r#"{"rectification_after_days": [0]}"#,
            r#"{"reminders": [1]}"#,
            "[1, 2]",
        ] {
            let err = with(bad).unwrap_err();
            assert!(format!("{err:#}").contains("ANZU_REMINDER_STAGES"), "{bad}: {err:#}");
        }
        assert_eq!(ReminderStages::before(&[3, 1], 2), Some(3));
        assert_eq!(ReminderStages::before(&[3, 1], 0), Some(1));
        assert_eq!(ReminderStages::before(&[3, 1], 4), None);
        assert_eq!(ReminderStages::before(&[3, 1], -1), None);
        assert_eq!(ReminderStages::after(&[1, 7], 3), Some(1));
        assert_eq!(ReminderStages::after(&[1, 7], 0), None);
    }

    #[test]
    fn rating_rules_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("anzu.db");
        let with = |rules: &str| {
            Settings::from_vars(&vars(&[
                ("ANZU_DATABASE_URL", db.to_str().unwrap()),
                ("ANZU_RATING_RULES", rules),
            ]))
        };
        assert_eq!(
            with(r#"{"due_days_critical": 2}"#)
                .unwrap()
                .rating_rules
                .due_days_critical,
            2
        );
        for bad in [
            r#"{"star_thresold": [1]}"#,
            r#"{"star_thresholds": [60, 70, 80, 90]}"#,
            r#"{"major_failure_cap_stars": 9}"#,
        ] {
            let err = with(bad).expect_err("must refuse");
            assert!(format!("{err:#}").contains("ANZU_RATING_RULES"), "{err:#}");
        }
    }

    #[test]
    fn inspection_plan_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("anzu.db");
        let with = |plan: &str| {
            Settings::from_vars(&vars(&[
                ("ANZU_DATABASE_URL", db.to_str().unwrap()),
                ("ANZU_INSPECTION_PLAN", plan),
            ]))
        };
        let plan = with(r#"{"patrol_visit_days": {"red": 3}}"#).unwrap().inspection_plan;
        assert_eq!((plan.patrol_visit_days.red, plan.patrol_visit_days.green), (3, 90));
        for bad in [
            r#"{"interval_months": [1]}"#,
            r#"{"interval_months_by_stars": [0, 1, 3, 6, 12, 0]}"#,
            r#"{"patrol_visit_days": {"red": 0}}"#,
        ] {
            let err = with(bad).expect_err("must refuse");
            assert!(format!("{err:#}").contains("ANZU_INSPECTION_PLAN"), "{err:#}");
        }
    }

    #[test]
    fn trusted_proxies() {
        let parse = TrustedProxies::parse;
        assert_eq!(parse(None).unwrap(), TrustedProxies::None);
        assert_eq!(parse(Some("false")).unwrap(), TrustedProxies::None);
        assert_eq!(parse(Some("true")).unwrap(), TrustedProxies::Hops(1));
        assert_eq!(parse(Some("2")).unwrap(), TrustedProxies::Hops(2));
        assert_eq!(
            parse(Some("10.0.0.1, ::1")).unwrap(),
            TrustedProxies::Addresses(vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()])
        );
        for bad in ["yes", "11", "10.0.0.300", "10.0.0.1,"] {
            let err = parse(Some(bad)).expect_err(bad);
            assert!(err.to_string().contains("ANZU_TRUST_PROXY"), "{err}");
        }
    }

    #[test]
    fn database_targets_name_host_and_port_only() {
        assert_eq!(
            database_target("postgres://anzu:secret@db.internal:5499/anzu?sslmode=require"),
            "db.internal:5499"
        );
        assert_eq!(database_target("postgresql://db/anzu"), "db:5432");
        assert_eq!(database_target("postgres:///anzu"), "the local socket");
        assert_eq!(database_target("data/anzu.db"), "data/anzu.db");
    }

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://anzu:secret@db:5432/anzu"),
            "postgres://anzu:***@db:5432/anzu"
        );
        assert_eq!(redact_url("anzu.db"), "anzu.db");
    }
}
