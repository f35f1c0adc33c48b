//! The `snp` command line: `serve [--demo]`, `migrate`, `worker`, `purge`, `api-key create|list|revoke`,
//! `user create`. Every failure prints a message that
//! says what to do and exits non-zero.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::api_keys::{IssueError, KeyRequest, issue};
use crate::clock::{Clock, SystemClock};
use crate::config::{Settings, redact_url};
use crate::domain::access::Role;
use crate::store::{self, Store};
use crate::{demo, http, telemetry};

#[derive(Debug, Parser)]
#[command(name = "snp", version, about = "Engine for unscheduled care (soins non programmés)")]
pub struct Cli {
    /// A TOML file overriding config/default.toml (environment variables SNP__SECTION__KEY override both).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database if needed and serve HTTP.
    Serve {
        /// Seed a demo territory first if the database is empty, and print how to log in.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Send due notifications (email, SMS) until stopped — for deployments that run it apart from `serve`.
    Worker,
    /// Erase the patient data of bookings whose slot ended more than retention.patient_data_days ago (what
    /// `serve` also does every hour) and say how many.
    Purge,
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Manage console users.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a console user. Without --password-stdin a password is generated and printed alone on the last
    /// line of stdout, once.
    Create {
        /// admin, coordinator, regulator or professional.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The login.
        #[arg(long)]
        email: String,
        /// The professional a `professional` user acts for.
        #[arg(long, value_name = "ID")]
        professional: Option<String>,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create an API key; the key is printed alone on the last line of stdout, once.
    Create {
        /// admin, coordinator, regulator, professional or publisher.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The professional a `professional` key acts for.
        #[arg(long, value_name = "ID")]
        professional: Option<String>,
        /// A practice a `publisher` key publishes for (repeat for several).
        #[arg(long = "practice", value_name = "ID")]
        practices: Vec<String>,
        /// Who or what uses the key.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (id, role, binding, state); secrets are never shown again.
    List,
    /// Revoke a key by its id: it is refused from the next request on.
    Revoke {
        /// The key's id, as printed by `create` or `list` (not the secret).
        id: String,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw)
        .ok_or_else(|| format!("unknown role {raw:?}; expected one of {}", Role::ALL.map(Role::as_str).join(", ")))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("snp: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("snp: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("snp: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), String> {
    let store = open_store(&settings).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match command {
        Command::Migrate => {
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::Serve { demo } => serve(settings, store, clock, demo).await,
        Command::Purge => {
            let days = settings.retention.patient_data_days;
            let erased =
                crate::retention::erase_expired(store.as_ref(), clock.now(), days, crate::retention::Trigger::Command)
                    .await
                    .map_err(|e| format!("purge failed: {e}"))?;
            println!("{erased} booking(s) erased: patient data of slots ended more than {days} days ago");
            Ok(())
        }
        Command::Worker => {
            let worker = crate::notify::worker::Worker::from_settings(store, clock, &settings)?;
            let interval = std::time::Duration::from_secs(settings.notifications.worker_interval_secs);
            let running = crate::notify::worker::spawn(Arc::new(worker), interval);
            tracing::info!("snp worker running");
            shutdown_signal().await;
            running.abort();
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Create { role, professional, practices, name }) => {
            let name = name.unwrap_or_else(|| format!("{} key", role.as_str()));
            let request = KeyRequest { role, name, professional_id: professional, practice_ids: practices };
            let issued = issue(store.as_ref(), request, clock.now()).await.map_err(|e| match e {
                IssueError::Invalid(crate::domain::Error::Invalid(errors)) => errors
                    .iter()
                    .map(|e| format!("{}: {}", cli_flag(&e.field), e.message))
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            })?;
            println!("API key {} created for role {}. It is shown once; keep it safe:", issued.key.id, role.as_str());
            println!("{}", issued.secret.expose());
            Ok(())
        }
        Command::User(UserCommand::Create { role, email, professional, password_stdin }) => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
                line.trim_end_matches(['\r', '\n']).to_string()
            } else {
                crate::accounts::generated_password().map_err(|e| e.to_string())?
            };
            let request =
                crate::accounts::UserRequest { email, role, professional_id: professional, password: password.clone() };
            let user = crate::accounts::create_user_by_system(store.as_ref(), request, clock.now()).await.map_err(
                |e| match e {
                    crate::accounts::AccountError::Invalid(crate::domain::Error::Invalid(errors)) => errors
                        .iter()
                        .map(|e| format!("{}: {}", cli_flag(&e.field), e.message))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    crate::accounts::AccountError::Store(crate::store::StoreError::Conflict(_)) => {
                        "a user with this login (--email) already exists".to_string()
                    }
                    other => other.to_string(),
                },
            )?;
            if password_stdin {
                println!("user {} created ({}, {})", user.id, user.email, role.as_str());
            } else {
                println!("user {} created ({}, {}). Password, shown once:", user.id, user.email, role.as_str());
                println!("{password}");
            }
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::List) => {
            let keys = store.list_api_keys().await.map_err(|e| e.to_string())?;
            println!("{:<36}  {:<12}  {:<8}  {:<20}  name", "id", "role", "state", "created");
            for key in keys {
                let state = if key.revoked_at.is_some() { "revoked" } else { "active" };
                let created = key.created_at.format("%Y-%m-%d %H:%M UTC");
                println!("{:<36}  {:<12}  {:<8}  {:<20}  {}", key.id, key.role.as_str(), state, created, key.name);
            }
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Revoke { id }) => match store.revoke_api_key(&id, clock.now()).await {
            Ok(()) => {
                // A running server trusts a key it has just checked for a moment longer (http.api_key_cache_secs).
                match settings.http.api_key_cache_secs {
                    0 => println!("API key {id} revoked"),
                    secs => println!("API key {id} revoked (running servers refuse it within {secs} s)"),
                }
                Ok(())
            }
            Err(crate::store::StoreError::NotFound) => Err(format!("no API key with id {id:?} (see snp api-key list)")),
            Err(other) => Err(other.to_string()),
        },
    }
}

/// Names the command-line flag behind a validation field.
fn cli_flag(field: &str) -> String {
    match field {
        "professional_id" => "--professional".into(),
        f if f.starts_with("practice_ids") => "--practice".into(),
        "role" => "--role".into(),
        "name" => "--name".into(),
        "email" => "--email".into(),
        "password" => "the password".into(),
        other => other.into(),
    }
}

/// Connects and migrates: every command needs an up-to-date schema.
async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, String> {
    let url = redact_url(&settings.database.url);
    let store = store::connect(&settings.database)
        .await
        .map_err(|e| format!("cannot open the database {url} (database.url): {e}"))?;
    store.migrate().await.map_err(|e| format!("cannot migrate the database {url}: {e}"))?;
    Ok(store)
}

async fn serve(
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    seed_demo: bool,
) -> Result<(), String> {
    if seed_demo {
        demo::seed_if_empty(store.as_ref(), clock.now(), &settings).await.map_err(|e| format!("demo: {e}"))?;
    }
    let listener = tokio::net::TcpListener::bind(settings.http.bind)
        .await
        .map_err(|e| format!("cannot listen on {} (http.bind): {e}", settings.http.bind))?;
    tracing::info!(bind = %settings.http.bind, database = store.backend(), "snp serving");
    serve_on(listener, &settings, store, clock, shutdown_signal()).await
}

/// The server of `snp serve` on a bound listener, with its background jobs (the horizon, the search index's
/// refresh, the outbox worker), until `shutdown` completes. The load benchmark runs exactly this.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let interval = std::time::Duration::from_secs(settings.availability.refresh_interval_minutes * 60);
    let horizon = crate::availability::spawn_horizon_job(
        store.clone(),
        clock.clone(),
        settings.availability.horizon_days,
        settings.retention.patient_data_days,
        interval,
    );
    let state = http::AppState::new(store.clone(), clock, settings);
    // Loaded before listening: the first regulator does not wait for it.
    state.search_index.refresh().await.map_err(|e| format!("cannot load the search index: {e}"))?;
    let index_refresher = crate::routing::live::spawn_refresher(state.search_index.clone());
    let worker = crate::notify::worker::Worker::from_settings(store.clone(), state.clock.clone(), settings)?;
    let interval = std::time::Duration::from_secs(settings.notifications.worker_interval_secs);
    let outbox_worker = crate::notify::worker::spawn(Arc::new(worker), interval);
    let search_log = state.search_log.clone();
    let app = http::router(state, settings);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // The search statistics still queued are written before the process ends.
    search_log.flush().await;
    horizon.abort();
    index_refresher.abort();
    outbox_worker.abort();
    served.map_err(|e| format!("server: {e}"))
}

/// Ctrl-C or SIGTERM: stop accepting, finish requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
