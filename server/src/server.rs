//! Starting and stopping a server: [`ServerConfig`] and [`RunningServer`], the library API the
//! CLI, the demo and the tests use.

use crate::app::{self, AppState, Providers};
use crate::auth::{Contact, RateLimits};
use crate::clock::Clock;
use crate::db::Db;
use crate::maintenance::MaintenanceReport;
pub use crate::net::ConnectionLimits;
use crate::providers::config::ProvidersConfig;
use crate::providers::{
    self, EmailSender, OutboxMessage, OutboxSender, PushSender, RecordedPush, SmsSender,
};
use crate::send_queue::{QueueReport, SendQueue};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "kidplan.db";
/// Directory of stored photos and documents inside the data directory.
pub const FILES_DIR: &str = "files";

/// How to run a server.
#[derive(Clone)]
pub struct ServerConfig {
    /// Holds the database file and the files directory (unless overridden below).
    pub data_dir: PathBuf,
    /// Database file instead of `data_dir/kidplan.db`.
    pub db_file: Option<PathBuf>,
    /// Files directory instead of `data_dir/files`.
    pub files_dir: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Seed the demo kindergarten into an empty database.
    pub seed_demo: bool,
    /// Lifetime of access tokens in seconds.
    pub access_token_ttl_s: i64,
    pub clock: Clock,
    pub rate_limits: RateLimits,
    /// Connection limits and timeouts against hostile clients.
    pub connection_limits: ConnectionLimits,
    /// How often maintenance runs on its own (`None`: only through `run_maintenance`).
    pub maintenance_every: Option<Duration>,
    /// Email provider (default: the outbox table).
    pub email: Option<Arc<dyn EmailSender>>,
    /// SMS provider (default: the outbox table).
    pub sms: Option<Arc<dyn SmsSender>>,
    /// Push provider (default: the push outbox table).
    pub push: Option<Arc<dyn PushSender>>,
    /// Real providers and the queue's retry policy (`serve --providers FILE`); a channel it
    /// does not configure goes to the outbox (unless `email`/`sms`/`push` above is set).
    pub providers: ProvidersConfig,
    /// How often the send queue's worker looks for due rows on its own (it is also woken
    /// after each change); `None`: only through `deliver_queue` and local outbox delivery.
    pub queue_every: Option<Duration>,
    /// How often the reminder scheduler runs (`None`: only through `run_reminders`).
    pub reminders_every: Option<Duration>,
}

impl ServerConfig {
    /// Loopback with an ephemeral port, demo data, real clock, 15-minute access tokens.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            db_file: None,
            files_dir: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed_demo: true,
            access_token_ttl_s: 900,
            clock: Clock::system(),
            rate_limits: RateLimits::default(),
            connection_limits: ConnectionLimits::default(),
            maintenance_every: Some(Duration::from_secs(3600)),
            email: None,
            sms: None,
            push: None,
            providers: ProvidersConfig::default(),
            queue_every: Some(Duration::from_secs(1)),
            reminders_every: Some(Duration::from_secs(60)),
        }
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.db_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(DB_FILE))
    }

    /// The files directory.
    pub fn files_path(&self) -> PathBuf {
        self.files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join(FILES_DIR))
    }
}

/// A server running on the current tokio runtime.
pub struct RunningServer {
    addr: SocketAddr,
    db: Db,
    clock: Clock,
    files_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    maintenance: Option<JoinHandle<()>>,
    queue: SendQueue,
    background: Vec<JoinHandle<()>>,
    #[cfg(feature = "faults")]
    faults: crate::faults::Faults,
}

/// Opens (and, when asked, seeds) the database of a configuration.
pub async fn open_db(cfg: &ServerConfig) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    std::fs::create_dir_all(cfg.files_path())?;
    let db = Db::open(&cfg.db_path())?;
    if cfg.seed_demo {
        let (d, files, now) = (db.clone(), cfg.files_path(), cfg.clock.now());
        tokio::task::spawn_blocking(move || crate::seed::seed_demo(&mut d.lock(), &files, now))
            .await??;
    }
    Ok(db)
}

impl RunningServer {
    /// Opens the database, seeds it if asked, binds and starts serving.
    pub async fn start(cfg: ServerConfig) -> anyhow::Result<RunningServer> {
        let db = open_db(&cfg).await?;
        let outbox = OutboxSender {
            db: db.clone(),
            clock: cfg.clock.clone(),
        };
        let senders = cfg.providers.build(outbox, &cfg.clock)?;
        let providers = Providers {
            email: cfg.email.clone().unwrap_or(senders.email),
            sms: cfg.sms.clone().unwrap_or(senders.sms),
            push: cfg.push.clone().unwrap_or(senders.push),
        };
        let queue = SendQueue::new(
            db.clone(),
            cfg.clock.clone(),
            providers.clone(),
            cfg.providers.queue,
        );
        queue.release_claims()?;
        let state = AppState {
            db: db.clone(),
            clock: cfg.clock.clone(),
            files_dir: cfg.files_path(),
            token_ttl_s: cfg.access_token_ttl_s,
            limits: cfg.rate_limits,
            timeouts: cfg.connection_limits,
            providers,
            queue: queue.clone(),
            #[cfg(feature = "faults")]
            faults: crate::faults::Faults::default(),
        };
        let listener = tokio::net::TcpListener::bind(cfg.bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = app::router(state.clone());
        let task = tokio::spawn(crate::net::serve(listener, app, cfg.connection_limits, rx));
        let maintenance = cfg
            .maintenance_every
            .map(|every| spawn_maintenance(db.clone(), cfg.clock.clone(), cfg.files_path(), every));
        let mut background = Vec::new();
        if let Some(every) = cfg.queue_every {
            background.push(queue.clone().spawn_worker(every));
        }
        if let Some(every) = cfg.reminders_every {
            background.push(spawn_reminders(
                db.clone(),
                cfg.clock.clone(),
                queue.clone(),
                every,
            ));
        }
        tracing::info!(%addr, "kidplan-server listening");
        Ok(RunningServer {
            addr,
            db,
            files_dir: cfg.files_path(),
            clock: cfg.clock,
            shutdown: Some(tx),
            task,
            maintenance,
            queue,
            background,
            #[cfg(feature = "faults")]
            faults: state.faults,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.db.path().to_owned()
    }

    /// The directory of stored photos and documents.
    pub fn files_dir(&self) -> PathBuf {
        self.files_dir.clone()
    }

    /// The server's clock (advance it when it is manual).
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// The last login code sent to `contact` (read from the email/SMS outbox).
    pub fn last_login_code(&self, contact: &str) -> Option<String> {
        let normalised = Contact::parse(contact)
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|_| contact.to_owned());
        self.sent_messages()
            .iter()
            .rev()
            .filter(|m| m.recipient == normalised)
            .find_map(|m| providers::message_text(m).and_then(|t| providers::find_code(&t)))
    }

    /// Every email/SMS handed to a provider, oldest first.
    pub fn sent_messages(&self) -> Vec<OutboxMessage> {
        providers::sent_messages(&self.db)
    }

    /// Every push handed to a provider, oldest first.
    pub fn sent_pushes(&self) -> Vec<RecordedPush> {
        providers::sent_pushes(&self.db)
    }

    /// Tries every due row of the send queue now (with the server's clock) and waits for the
    /// tries.
    pub async fn deliver_queue(&self) -> QueueReport {
        self.queue.run_due().await
    }

    /// Runs the reminder scheduler now (with the server's clock), then hands what it queued to
    /// the send queue; returns how many guardians were reminded.
    pub async fn run_reminders(&self) -> anyhow::Result<usize> {
        let n = run_reminders_once(&self.db, &self.clock).await?;
        self.queue.after_commit().await;
        Ok(n)
    }

    /// Runs the periodic jobs now (retention of IP log, push registrations, expired codes and
    /// tokens; deletion of kindergartens whose contract ended more than a month ago).
    pub fn run_maintenance(&self) -> anyhow::Result<MaintenanceReport> {
        crate::maintenance::run(&mut self.db.lock(), &self.files_dir, self.clock.now_ms())
    }

    /// Records the last day of a kindergarten's contract (the operator's action); its data is
    /// deleted by maintenance once a calendar month after that day is over.
    pub fn end_contract(
        &self,
        kindergarten_id: &str,
        last_day: chrono::NaiveDate,
    ) -> anyhow::Result<()> {
        crate::contract::end_contract(&self.db.lock(), kindergarten_id, last_day)
    }

    /// The fault switchboard.
    #[cfg(feature = "faults")]
    pub fn faults(&self) -> crate::faults::Faults {
        self.faults.clone()
    }

    /// Stops gracefully: stops accepting, finishes open requests (at most 5 s), releases the
    /// port and closes the database.
    pub async fn stop(mut self) {
        if let Some(m) = self.maintenance.take() {
            m.abort();
        }
        for t in self.background.drain(..) {
            t.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
            let _ = (&mut self.task).await;
        }
    }
}

fn spawn_maintenance(db: Db, clock: Clock, files_dir: PathBuf, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (db, files_dir, now) = (db.clone(), files_dir.clone(), clock.now_ms());
            let run = tokio::task::spawn_blocking(move || {
                crate::maintenance::run(&mut db.lock(), &files_dir, now)
            })
            .await;
            match run {
                Ok(Ok(r)) => tracing::info!(
                    access_log = r.access_log,
                    push = r.push_registrations,
                    kindergartens = r.kindergartens,
                    files = r.files,
                    "maintenance done"
                ),
                _ => tracing::warn!("maintenance failed"),
            }
        }
    })
}

async fn run_reminders_once(db: &Db, clock: &Clock) -> anyhow::Result<usize> {
    let now = clock.now();
    db.tx(move |tx| crate::reminders::run(tx, now))
        .await
        .map_err(|e| anyhow::anyhow!("reminders failed: {}", e.body.message))
}

fn spawn_reminders(db: Db, clock: Clock, queue: SendQueue, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_reminders_once(&db, &clock).await {
                Ok(n) if n > 0 => {
                    tracing::info!(reminded = n, "reminders queued");
                    queue.after_commit().await;
                }
                Ok(_) => {}
                Err(_) => tracing::warn!("reminders failed"),
            }
        }
    })
}
