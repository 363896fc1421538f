//! `kidplan serve`: the reference server (kidplan-server) with the seeded demo kindergarten,
//! for trying the everyday commands. Login codes go to the server's outbox instead of an
//! email/SMS provider; this command prints each new one so `kidplan login` can be used.

use crate::errors::{CliResult, Fail};
use crate::out;
use crate::output::{BOLD, DIM, paint};
use kidplan_server::{RunningServer, ServerConfig, demo, providers};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub async fn serve(
    bind: SocketAddr,
    data_dir: Option<PathBuf>,
    providers: Option<PathBuf>,
) -> CliResult<()> {
    let providers = match providers {
        Some(file) => Some(
            kidplan_server::ProvidersConfig::load(&file).map_err(|e| Fail::new(e.to_string()))?,
        ),
        None => None,
    };
    let tmp;
    let dir = match data_dir {
        Some(d) => d,
        None => {
            tmp = tempfile::Builder::new()
                .prefix("kidplan-server-")
                .tempdir()?;
            tmp.path().to_owned()
        }
    };
    let mut cfg = ServerConfig::new(&dir);
    cfg.bind = bind;
    let real = providers.is_some();
    if let Some(p) = providers {
        cfg.providers = p;
    }
    let server = RunningServer::start(cfg).await.map_err(|e| {
        Fail::new(format!(
            "the server could not start on {bind} ({e}); is the port in use? try --bind 127.0.0.1:0"
        ))
    })?;
    out!(
        "{} listening on {}",
        paint(BOLD, "kidplan-server"),
        paint(BOLD, server.base_url())
    );
    out!("  data: {}", paint(DIM, dir.display()));
    out!(
        "  demo parent: {}   (kidplan --server {} login {})",
        demo::GUARDIAN_EMAIL,
        server.base_url(),
        demo::GUARDIAN_EMAIL
    );
    if real {
        out!("  real providers as configured; channels without a section use the outbox");
    }
    out!("  login codes are printed below (the server's email/SMS outbox); Ctrl-C stops");
    let mut seen = server.sent_messages().len();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                let msgs = server.sent_messages();
                for m in msgs.iter().skip(seen) {
                    if let Some(code) = providers::message_text(m).and_then(|t| providers::find_code(&t)) {
                        out!("  login code for {}: {}", m.recipient, paint(BOLD, code));
                    }
                }
                seen = msgs.len();
            }
        }
    }
    server.stop().await;
    out!("stopped");
    Ok(())
}
