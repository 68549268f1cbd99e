//! The command-line interface: `serve` (default), `migrate`, `admin create`, `openapi`, `sweep`, `purge`,
//! `backup`, `notices send`.

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::accounts::model::MembershipStatus;
use crate::auth::Role;
use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;

#[derive(Parser)]
#[command(name = "anzu", version, about = "Rental registry for village landlord associations")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Run the compliance sweep once.
    Sweep,
    /// Copy the live SQLite database, consistently, to a new file at PATH (while the server runs).
    Backup {
        /// Where the copy goes; must not exist yet.
        path: std::path::PathBuf,
    },
    /// Erase the personal data of tenancies that ended more than ANZU_RETENTION_DAYS ago (the daily job's
    /// work, now); prints counts by village, never personal data.
    Purge {
        /// Count what would be erased, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Work with the notice outbox.
    Notices {
        #[command(subcommand)]
        command: NoticesCommand,
    },
}

#[derive(Subcommand)]
pub enum NoticesCommand {
    /// Deliver every notice that is due, then exit.
    Send,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an administrator account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        #[arg(long)]
        phone: Option<String>,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        println!("{}", crate::openapi::document().to_pretty_json()?);
        return Ok(());
    }
    let settings = Settings::from_env()?;
    init_logging(&settings.log_filter);
    if let Some(path) = &settings.generated_secrets_file {
        tracing::warn!(file = %path.display(), "generated a JWT secret and a data key for this local run; set ANZU_JWT_SECRET and ANZU_DATA_KEY in production");
    }
    match command {
        Command::Serve => crate::startup::serve(settings).await,
        Command::Migrate => {
            let db = Db::connect(&settings.database_url, 1)?;
            db.wait_until_reachable(std::time::Duration::from_secs(settings.db_wait_secs))?;
            crate::startup::prepare_database(&db, &settings)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    name,
                    phone,
                },
        } => create_admin(&settings, email, password, name, phone).await,
        Command::Openapi => Ok(()),
        Command::Backup { path } => backup(&settings, &path),
        Command::Purge { dry_run } => {
            let db = job_database(&settings)?;
            let report = crate::retention::service::run(&db, settings.retention_days, crate::ids::today(), dry_run)
                .await
                .map_err(ApiError::into_anyhow)
                .context("the purge failed")?;
            print_json(&report)
        }
        Command::Sweep => {
            let db = job_database(&settings)?;
            let report = crate::compliance::run_now(&db, std::sync::Arc::new(settings))
                .await
                .map_err(ApiError::into_anyhow)
                .context("the compliance sweep failed")?;
            print_json(&report)
        }
        Command::Notices {
            command: NoticesCommand::Send,
        } => {
            let delivery = crate::notices::worker::Delivery::from_settings(job_database(&settings)?, &settings)?;
            let report = delivery
                .drain()
                .await
                .map_err(ApiError::into_anyhow)
                .context("sending the notices failed")?;
            print_json(&report)
        }
    }
}

/// `anzu backup PATH`.
fn backup(settings: &Settings, path: &std::path::Path) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 1)?;
    let started = std::time::Instant::now();
    db.backup_to(path)
        .map_err(ApiError::into_anyhow)
        .context("the backup failed")?;
    println!(
        "backed up to {} in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The database of a one-off job, migrated.
fn job_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, 2)?;
    db.migrate()?;
    Ok(db)
}

/// A job's report on standard output.
fn print_json(report: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(report)?);
    Ok(())
}

async fn create_admin(
    settings: &Settings,
    email: String,
    password: String,
    name: String,
    phone: Option<String>,
) -> anyhow::Result<()> {
    use validator::ValidateEmail;
    // The API's own rules for these fields, each said with its option's name.
    let rule = |option: &str, checked: Result<(), validator::ValidationError>| {
        checked.map_err(|e| anyhow::anyhow!("{option} {}", e.message.unwrap_or_default()))
    };
    let name = crate::validation::to_nfc(name);
    rule("--name", crate::validation::person_name(&name))?;
    anyhow::ensure!(
        email.validate_email() && email.chars().count() <= 254,
        "--email must be an e-mail address"
    );
    rule("--password", crate::validation::password(&password))?;
    if let Some(phone) = &phone {
        rule("--phone", crate::validation::mobile(phone))?;
    }
    let db = Db::connect(&settings.database_url, 1)?;
    db.migrate()?;
    let row = crate::accounts::service::new_user_row(
        &name,
        &email,
        phone.as_deref(),
        password,
        Role::Admin,
        None,
        MembershipStatus::Active,
    )
    .await
    .map_err(ApiError::into_anyhow)
    .context("hashing the password failed")?;
    let user = db
        .write_blocking(|conn| crate::accounts::service::insert_user_audited(conn, None, &row, "user.created"))
        .map_err(ApiError::into_anyhow)
        .context("creating the admin failed")?;
    println!("created admin {} ({})", user.email, user.id);
    Ok(())
}

fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the commands' own output (`anzu sweep | jq`).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .with_current_span(true)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line refuses what the API refuses, naming the option, before it touches a database.
    #[tokio::test]
    async fn create_admin_applies_the_api_rules() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("anzu.db");
        let vars = [("ANZU_DATABASE_URL".to_owned(), url.to_string_lossy().into_owned())];
        let settings = Settings::from_vars(&vars.into_iter().collect()).unwrap();
        let ok = |s: &str| s.to_owned();
        let cases = [
            (
                "--name",
                ok("a@example.cn"),
                ok("long enough pass"),
                ok("\u{202e}陈"),
                None,
            ),
            (
                "--email",
                ok("not-an-address"),
                ok("long enough pass"),
                ok("陈建国"),
                None,
            ),
            ("--password", ok("a@example.cn"), ok("short"), ok("陈建国"), None),
            (
                "--phone",
                ok("a@example.cn"),
                ok("long enough pass"),
                ok("陈建国"),
                Some(ok("12345")),
            ),
        ];
        for (option, email, password, name, phone) in cases {
            let err = create_admin(&settings, email, password, name, phone)
                .await
                .expect_err(option);
            assert!(err.to_string().starts_with(option), "{option}: {err}");
        }
        assert!(!url.exists(), "nothing was written");
    }
}
