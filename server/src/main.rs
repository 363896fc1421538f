//! `kidplan-server`: run the reference server, or seed the demo data.

use clap::{Parser, Subcommand};
use kidplan_server::{RunningServer, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kidplan-server",
    about = "Kidplan reference backend (axum + SQLite)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Data directory (database and files).
        #[arg(long, default_value = "kidplan-data")]
        data_dir: PathBuf,
        /// Database file (default: DATA_DIR/kidplan.db).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Files directory (default: DATA_DIR/files).
        #[arg(long)]
        files: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Seed the demo kindergarten into an empty database.
        #[arg(long)]
        seed_demo: bool,
        /// Real providers (Mailgun, LinkMobility, FCM, APNs) and retry policy, a TOML file
        /// (see server/README.md). Without it, everything goes to the local outbox tables.
        #[arg(long, value_name = "FILE")]
        providers: Option<PathBuf>,
        /// Test builds only (feature `faults`): delay every request whose path starts with
        /// ROUTE by MS milliseconds before its handler runs, e.g. `/v1/sync=400`.
        #[cfg(feature = "faults")]
        #[arg(long, value_name = "ROUTE=MS")]
        fault_delay: Vec<String>,
    },
    /// Seed data into a database.
    Seed {
        /// The fictional demo kindergarten.
        #[arg(long, required = true)]
        demo: bool,
        #[arg(long, default_value = "kidplan-data")]
        data_dir: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Print an access token for a person (test tooling, e.g. schemathesis).
    #[command(hide = true)]
    Token {
        #[arg(long)]
        contact: String,
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 3600)]
        ttl_s: i64,
    },
    /// Record the last day of a kindergarten's contract (operator action); maintenance deletes
    /// the kindergarten's data once a calendar month after that day is over.
    #[command(hide = true)]
    ContractEnd {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        kindergarten: String,
        /// Last day of the contract, YYYY-MM-DD.
        #[arg(long)]
        on: chrono::NaiveDate,
    },
    /// Print the last login code sent to a contact, from the outbox (test tooling, e.g. the
    /// Kotlin tests).
    #[command(hide = true)]
    LoginCode {
        #[arg(long)]
        contact: String,
        #[arg(long, default_value = "kidplan-data")]
        data_dir: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

fn config(data_dir: PathBuf, db: Option<PathBuf>, files: Option<PathBuf>) -> ServerConfig {
    let mut cfg = ServerConfig::new(data_dir);
    cfg.files_dir = files.or_else(|| {
        db.as_ref()
            .and_then(|d| d.parent().map(|p| p.join(kidplan_server::FILES_DIR)))
    });
    cfg.db_file = db;
    cfg
}

/// A `ROUTE=MS` delay for every matching request.
#[cfg(feature = "faults")]
fn delay_fault(spec: &str) -> anyhow::Result<kidplan_server::Fault> {
    let (route, ms) = spec
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--fault-delay takes ROUTE=MS"))?;
    Ok(kidplan_server::Fault {
        route: Some(route.to_owned()),
        kind: kidplan_server::FaultKind::Delay(std::time::Duration::from_millis(ms.parse()?)),
        times: u32::MAX,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            data_dir,
            db,
            files,
            bind,
            seed_demo,
            providers,
            #[cfg(feature = "faults")]
            fault_delay,
        } => {
            let mut cfg = config(data_dir, db, files);
            cfg.bind = bind;
            cfg.seed_demo = seed_demo;
            if let Some(file) = providers {
                match kidplan_server::ProvidersConfig::load(&file) {
                    Ok(p) => cfg.providers = p,
                    Err(e) => {
                        eprintln!("kidplan-server: {e}");
                        std::process::exit(2);
                    }
                }
            }
            let server = RunningServer::start(cfg).await?;
            #[cfg(feature = "faults")]
            for spec in fault_delay {
                server.faults().inject(delay_fault(&spec)?);
            }
            println!("kidplan-server listening on {}", server.base_url());
            tokio::signal::ctrl_c().await?;
            server.stop().await;
        }
        Command::Seed {
            demo: _,
            data_dir,
            db,
        } => {
            let cfg = config(data_dir, db, None);
            kidplan_server::open_db(&cfg).await?;
            println!("demo data in {}", cfg.db_path().display());
        }
        Command::Token { contact, db, ttl_s } => {
            println!(
                "{}",
                kidplan_server::mint_access_token(&db, &contact, ttl_s)?
            );
        }
        Command::ContractEnd {
            db,
            kindergarten,
            on,
        } => {
            kidplan_server::end_contract(&db, &kindergarten, on)?;
            println!("contract of {kindergarten} ends on {on}");
        }
        Command::LoginCode {
            contact,
            data_dir,
            db,
        } => {
            let db = kidplan_server::db::Db::open(&config(data_dir, db, None).db_path())?;
            let to = kidplan_server::auth::Contact::parse(&contact)
                .map(|c| c.as_str().to_owned())
                .unwrap_or(contact);
            let code = kidplan_server::providers::sent_messages(&db)
                .iter()
                .rev()
                .filter(|m| m.recipient == to)
                .find_map(|m| {
                    kidplan_server::providers::message_text(m)
                        .and_then(|t| kidplan_server::providers::find_code(&t))
                })
                .ok_or_else(|| anyhow::anyhow!("no login code in the outbox"))?;
            println!("{code}");
        }
    }
    Ok(())
}
