//! `kidplan`: the terminal shell over kidplan-core.
//!
//! - `kidplan demo` plays a parent's day against a reference server in this process.
//! - `kidplan serve` runs the reference server with the demo kindergarten.
//! - Everyday parent commands (`login`, `children`, `log`, `messages`, `absence`, `holiday`,
//!   `consents`, `sync`, `export`, `telemetry`, `logout`) work against any Kidplan server.
//!
//! Secrets (tokens and the database key of each account) live in kidplan-core's
//! `FileSecretStore`: `<data dir>/secrets.json`, mode 0600. See `kidplan --help`.
//!
//! Modules: [`args`] (clap), [`commands`] (everyday commands), [`demo`], [`serve`],
//! [`staff`] (the demo's kindergarten-side HTTP calls), [`output`] (tables, colours),
//! [`errors`] (one friendly line per failure).

mod args;
mod commands;
mod demo;
mod errors;
mod output;
mod privacy;
mod serve;
mod staff;

use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

/// Parses the arguments; a usage error is one line on stderr (help and version print as usual).
fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(c) => Ok(c),
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            // The first paragraph of clap's message, on one line.
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let first = first.join(" ");
            let first = first.strip_prefix("error: ").unwrap_or(&first);
            eprintln!("kidplan: {first} (see `kidplan --help`)");
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kidplan: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let g = cli.global;
    let r = rt.block_on(async {
        match cli.command {
            Command::Demo => return Ok(demo::run(g.lang).await),
            Command::Serve { bind, providers } => {
                serve::serve(bind, g.data_dir.clone(), providers).await
            }
            Command::Login { contact, code } => commands::login(&g, &contact, code).await,
            Command::Children => commands::children(&g),
            Command::Log { child, limit } => commands::log(&g, &child, limit),
            Command::Messages { thread, reply } => commands::messages(&g, thread, reply).await,
            Command::Absence(cmd) => commands::absence(&g, cmd).await,
            Command::Holiday {
                child,
                from,
                to,
                note,
            } => commands::holiday(&g, &child, from, to, note).await,
            Command::Contact(cmd) => commands::contact(&g, cmd).await,
            Command::Consents { child } => commands::consents(&g, &child),
            Command::Reminders => commands::reminders(&g),
            Command::Sync => commands::sync(&g).await,
            Command::Export { dir } => commands::export(&g, &dir).await,
            Command::Telemetry(cmd) => commands::telemetry(&g, cmd).await,
            Command::Privacy(cmd) => privacy::run(&g, cmd).await,
            Command::Logout => commands::logout(&g).await,
        }
        .map(|()| ExitCode::SUCCESS)
    });
    // The core and the server shut down with the runtime.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    match r {
        Ok(code) => code,
        Err(f) => {
            eprintln!("kidplan: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}
