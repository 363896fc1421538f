//! The everyday parent commands against any Kidplan server: opening the core on the data
//! directory, finding a child by name, and one function per command.
//!
//! Data directory layout (see also `kidplan --help`): `accounts.json`, `accounts/<id>/`
//! (the encrypted database and cached files of each account), `secrets.json` (kidplan-core's
//! `FileSecretStore`: tokens and database keys, mode 0600) and `server-url` (the server of the
//! last login, used when `--server` is not given).

use crate::args::{AbsenceCmd, ContactCmd, Global, Lang, Reason, TelemetryCmd};
use crate::errors::{CliResult, Fail};
use crate::out;
use crate::output::{self, BOLD, CYAN, DIM, GREEN, Table, YELLOW, paint};
use kidplan_api::model::*;
use kidplan_api::push::Locale;
use kidplan_api::telemetry::Platform;
use kidplan_api::{ChildId, Day, ThreadId};
use kidplan_core::{AbsenceReport, HolidayRegistration};
use kidplan_core::{Config, FileSecretStore, Kidplan, KidplanError, SyncReport, Tuning};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where `kidplan serve` listens by default, and the default server.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
const SERVER_FILE: &str = "server-url";

/// The core opened for one command.
pub struct Ctx {
    pub kp: Arc<Kidplan>,
    pub data_dir: PathBuf,
    pub server: String,
}

impl Ctx {
    /// A core error as a [`Fail`] with this context.
    pub fn fail(&self, e: KidplanError) -> Fail {
        Fail::core(&e, &self.server, &self.data_dir)
    }

    pub fn require_login(&self) -> CliResult<()> {
        if self.kp.active_account().is_none() {
            return Err(Fail::new(
                "not logged in on this device; log in with `kidplan login <email or phone>`",
            ));
        }
        Ok(())
    }
}

pub fn locale(lang: Lang) -> Locale {
    match lang {
        Lang::Nb => Locale::Nb,
        Lang::Nn => Locale::Nn,
        Lang::En => Locale::En,
    }
}

/// The core configuration every shell of this binary uses.
pub fn config(server: &str, lang: Lang) -> Config {
    Config {
        server_url: server.to_owned(),
        locale: locale(lang),
        platform: Platform::Desktop,
        app_version: format!("kidplan-cli/{}", env!("CARGO_PKG_VERSION")),
    }
}

/// Timings for a short-lived process: no background senders (commands send explicitly).
pub fn tuning() -> Tuning {
    Tuning {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        background_flush: false,
        telemetry_sender_every: None,
        ..Tuning::default()
    }
}

/// The data directory: `--data-dir`/`KIDPLAN_DATA_DIR`, else `$XDG_DATA_HOME/kidplan`, else
/// `~/.local/share/kidplan`, else `./.kidplan`.
pub fn data_dir(g: &Global) -> PathBuf {
    if let Some(d) = &g.data_dir {
        return d.clone();
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("kidplan");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/kidplan");
    }
    PathBuf::from(".kidplan")
}

fn server_url(g: &Global, dir: &Path) -> String {
    if let Some(s) = &g.server {
        return s.trim_end_matches('/').to_owned();
    }
    std::fs::read_to_string(dir.join(SERVER_FILE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
}

/// Opens the core on the data directory, with the file secret store in it.
pub fn open(g: &Global) -> CliResult<Ctx> {
    let dir = data_dir(g);
    let server = server_url(g, &dir);
    let dir_s = dir
        .to_str()
        .ok_or_else(|| Fail::new("the data directory's path must be valid UTF-8"))?
        .to_owned();
    let storage = |e: KidplanError| Fail::core(&e, &server, &dir);
    let secrets = FileSecretStore::new(&dir_s).map_err(storage)?;
    let kp = Kidplan::open_with_tuning(dir_s, config(&server, g.lang), secrets, tuning())
        .map_err(storage)?;
    Ok(Ctx {
        kp,
        data_dir: dir,
        server,
    })
}

/// Finds a child by id or first name (case-insensitive; also full name or unique prefix).
pub fn find_child(children: &[Child], query: &str) -> CliResult<Child> {
    let q = query.trim().to_lowercase();
    let full = |c: &Child| format!("{} {}", c.first_name, c.last_name).to_lowercase();
    let exact: Vec<&Child> = children
        .iter()
        .filter(|c| {
            c.id.as_str() == query.trim() || c.first_name.to_lowercase() == q || full(c) == q
        })
        .collect();
    let found: Vec<&Child> = if exact.is_empty() && !q.is_empty() {
        children
            .iter()
            .filter(|c| c.first_name.to_lowercase().starts_with(&q))
            .collect()
    } else {
        exact
    };
    let names = || {
        children
            .iter()
            .map(|c| c.first_name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] if children.is_empty() => Err(Fail::new(
            "no children on this device yet; run `kidplan sync` first",
        )),
        [] => Err(Fail::new(format!(
            "no child called `{query}`; your children are: {} (use a first name or an id)",
            names()
        ))),
        _ => Err(Fail::new(format!(
            "`{query}` matches more than one child ({}); use the full name or the id",
            found
                .iter()
                .map(|c| format!("{} {}", c.first_name, c.last_name))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub fn child_by_query(ctx: &Ctx, query: &str) -> CliResult<Child> {
    ctx.require_login()?;
    let children = ctx.kp.children().map_err(|e| ctx.fail(e))?;
    find_child(&children, query)
}

fn child_name(children: &[Child], id: &ChildId) -> String {
    children
        .iter()
        .find(|c| &c.id == id)
        .map(|c| c.first_name.clone())
        .unwrap_or_else(|| short(id.as_str()).to_owned())
}

/// The first 8 characters of an id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Runs a sync, drawing progress on a terminal.
pub async fn sync_with_progress(kp: &Kidplan, label: &str) -> Result<SyncReport, KidplanError> {
    let progress = output::Progress::new(label);
    let subscription = kp.subscribe(progress.clone());
    let r = kp.sync().await;
    subscription.unsubscribe();
    progress.done();
    r
}

/// After a queued action: tries to send it now; offline is not a failure (it stays queued).
async fn send_now(ctx: &Ctx) -> CliResult<()> {
    match ctx.kp.sync().await {
        Ok(r) if r.rejected > 0 => Err(Fail::new(
            "the server refused the change; see `kidplan absence list` for its reason",
        )),
        Ok(r) if r.pending > 0 => {
            eprintln!("kidplan: queued; not sent yet (will be retried by `kidplan sync`)");
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(KidplanError::Offline) => {
            eprintln!(
                "kidplan: the server at {} is not reachable: saved on this device, run `kidplan sync` later to send it",
                ctx.server
            );
            Ok(())
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

fn print_sync_report(r: &SyncReport) {
    out!(
        "{} synced: {} changes in {} pages; sent {}, rejected {}, still pending {}",
        paint(GREEN, "✓"),
        r.applied,
        r.pages,
        r.sent,
        r.rejected,
        r.pending
    );
}

// ----- commands -----

pub async fn login(g: &Global, contact: &str, code: Option<String>) -> CliResult<()> {
    let ctx = open(g)?;
    let code = match code {
        Some(c) => c,
        None => {
            ctx.kp
                .request_login_code(contact.to_owned())
                .await
                .map_err(|e| ctx.fail(e))?;
            eprint!("A login code was sent to {contact}. Code: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let line = line.trim().to_owned();
            if line.is_empty() {
                return Err(Fail::new(
                    "no code given; run `kidplan login <contact>` again, or pass --code",
                ));
            }
            line
        }
    };
    let account = ctx
        .kp
        .verify_login_code(contact.to_owned(), code)
        .await
        .map_err(|e| ctx.fail(e))?;
    kidplan_core::private_fs::write_atomic(
        &ctx.data_dir.join(SERVER_FILE),
        format!("{}\n", ctx.server).as_bytes(),
    )?;
    out!(
        "{} logged in at {} ({})",
        paint(GREEN, "✓"),
        paint(BOLD, &account.kindergarten_name),
        output::name(&account.role)
    );
    let r = sync_with_progress(&ctx.kp, "first sync").await;
    match r {
        Ok(r) => print_sync_report(&r),
        Err(e) => return Err(ctx.fail(e)),
    }
    let n = ctx.kp.children().map_err(|e| ctx.fail(e))?.len();
    out!("  {n} children; try `kidplan children`");
    Ok(())
}

pub fn children(g: &Global) -> CliResult<()> {
    let ctx = open(g)?;
    ctx.require_login()?;
    print_children(&ctx.kp).map_err(|e| ctx.fail(e))
}

/// The children table (shared with the demo).
pub fn print_children(kp: &Kidplan) -> Result<(), KidplanError> {
    let children = kp.children()?;
    let departments = kp.departments()?;
    let mut t = Table::new(&["Name", "Born", "Department", "Picture", "Id"]);
    for c in &children {
        let dep = departments
            .iter()
            .find(|d| d.id == c.department_id)
            .map(|d| d.name.clone())
            .unwrap_or_default();
        t.row(vec![
            paint(BOLD, format!("{} {}", c.first_name, c.last_name)),
            c.birth_date.to_string(),
            dep,
            if c.picture.is_some() { "yes" } else { "no" }.to_owned(),
            paint(DIM, c.id.as_str()),
        ]);
    }
    if t.is_empty() {
        out!("   (no children; run `kidplan sync`)");
    } else {
        t.print(3);
    }
    Ok(())
}

pub fn log(g: &Global, child: &str, limit: u32) -> CliResult<()> {
    let ctx = open(g)?;
    let c = child_by_query(&ctx, child)?;
    out!(
        "{}",
        paint(BOLD, format!("Log of {} {}", c.first_name, c.last_name))
    );
    print_log(&ctx.kp, &c, limit).map_err(|e| ctx.fail(e))
}

/// A child's latest log entries as a table (shared with the demo).
pub fn print_log(kp: &Kidplan, c: &Child, limit: u32) -> Result<(), KidplanError> {
    let staff = kp.staff()?;
    let entries = kp.log_entries(c.id.clone(), None, limit)?;
    let mut t = Table::new(&["When", "Kind", "By", "Entry"]);
    for e in &entries {
        let by = staff
            .iter()
            .find(|s| s.id == e.author_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        t.row(vec![
            output::time(e.at),
            paint(CYAN, output::name(&e.kind)),
            by,
            e.text.clone(),
        ]);
    }
    if t.is_empty() {
        out!("   (no entries)");
    } else {
        t.print(3);
    }
    Ok(())
}

/// Finds a thread by id, id prefix, or a word of its subject.
fn find_thread(ctx: &Ctx, query: &str) -> CliResult<ThreadId> {
    let threads = ctx.kp.threads().map_err(|e| ctx.fail(e))?;
    let q = query.trim().to_lowercase();
    let by_id: Vec<_> = threads
        .iter()
        .filter(|t| t.thread.id.as_str().starts_with(query.trim()))
        .collect();
    let found: Vec<_> = if by_id.is_empty() {
        threads
            .iter()
            .filter(|t| t.thread.subject.to_lowercase().contains(&q))
            .collect()
    } else {
        by_id
    };
    match found.as_slice() {
        [one] => Ok(one.thread.id.clone()),
        [] => Err(Fail::new(format!(
            "no thread matches `{query}`; list them with `kidplan messages`"
        ))),
        _ => Err(Fail::new(format!(
            "`{query}` matches {} threads; use more of the id shown by `kidplan messages`",
            found.len()
        ))),
    }
}

pub async fn messages(g: &Global, thread: Option<String>, reply: Option<String>) -> CliResult<()> {
    let ctx = open(g)?;
    ctx.require_login()?;
    let Some(q) = thread else {
        return print_threads(&ctx.kp).map_err(|e| ctx.fail(e));
    };
    let id = find_thread(&ctx, &q)?;
    print_thread(&ctx.kp, &id, 20).map_err(|e| ctx.fail(e))?;
    let unread = ctx
        .kp
        .threads()
        .map_err(|e| ctx.fail(e))?
        .iter()
        .any(|t| t.thread.id == id && t.unread_count > 0);
    if unread {
        ctx.kp.mark_read(id.clone()).map_err(|e| ctx.fail(e))?;
    }
    if let Some(body) = reply {
        ctx.kp
            .send_message(id.clone(), body)
            .map_err(|e| ctx.fail(e))?;
        send_now(&ctx).await?;
        out!("{} answered", paint(GREEN, "✓"));
    } else if unread {
        // The read receipt is best effort.
        let _ = ctx.kp.sync().await;
    }
    Ok(())
}

/// The inbox (shared with the demo).
pub fn print_threads(kp: &Kidplan) -> Result<(), KidplanError> {
    let children = kp.children()?;
    let mut t = Table::new(&["Id", "Subject", "Child", "Unread", "Last message"]);
    for s in kp.threads()? {
        let child = s
            .thread
            .child_id
            .as_ref()
            .map(|c| child_name(&children, c))
            .unwrap_or_else(|| "everyone".into());
        let last = s
            .last_message
            .as_ref()
            .map(|m| format!("{}  {}", output::time(m.sent_at), preview(&m.body, 40)))
            .unwrap_or_default();
        let unread = if s.unread_count > 0 {
            paint(YELLOW, s.unread_count)
        } else {
            "0".into()
        };
        let subject = if s.thread.broadcast {
            format!("{} {}", s.thread.subject, paint(DIM, "(broadcast)"))
        } else {
            s.thread.subject.clone()
        };
        t.row(vec![
            paint(DIM, short(s.thread.id.as_str())),
            paint(BOLD, subject),
            child,
            unread,
            last,
        ]);
    }
    if t.is_empty() {
        out!("   (no messages)");
    } else {
        t.print(3);
    }
    Ok(())
}

/// Text cut to `n` characters with an ellipsis.
pub fn preview(s: &str, n: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Who sent a message: a staff name, "you", or another guardian's name.
pub fn sender_name(kp: &Kidplan, s: &Sender) -> String {
    match s {
        Sender::Staff { id } => kp
            .staff()
            .ok()
            .and_then(|st| st.into_iter().find(|x| &x.id == id))
            .map(|x| x.name)
            .unwrap_or_else(|| "staff".into()),
        Sender::Guardian { id } => {
            if kp
                .active_account()
                .is_some_and(|a| a.person_id == id.as_str())
            {
                "you".into()
            } else {
                kp.guardians()
                    .ok()
                    .and_then(|g| g.into_iter().find(|x| &x.id == id))
                    .map(|x| format!("{} {}", x.first_name, x.last_name))
                    .unwrap_or_else(|| "guardian".into())
            }
        }
    }
}

/// A thread's latest messages, oldest first (shared with the demo).
pub fn print_thread(kp: &Kidplan, id: &ThreadId, limit: u32) -> Result<(), KidplanError> {
    let threads = kp.threads()?;
    if let Some(t) = threads.iter().find(|t| &t.thread.id == id) {
        out!("   {}", paint(BOLD, &t.thread.subject));
    }
    let mut msgs = kp.messages(id.clone(), None, limit)?;
    msgs.reverse();
    for m in msgs {
        let who = sender_name(kp, &m.message.sender);
        let state = match m.local {
            kidplan_core::LocalState::Synced => String::new(),
            ref s => format!("  [{}]", output::local_state(s)),
        };
        out!(
            "   {} {}{}",
            paint(DIM, output::time(m.message.sent_at)),
            paint(CYAN, format!("{who}:")),
            state
        );
        for line in m.message.body.lines() {
            out!("      {line}");
        }
    }
    Ok(())
}

fn reason(r: Reason) -> AbsenceReason {
    match r {
        Reason::Sick => AbsenceReason::Sick,
        Reason::Appointment => AbsenceReason::Appointment,
        Reason::Family => AbsenceReason::Family,
        Reason::Other => AbsenceReason::Other,
    }
}

fn check_range(from: Day, to: Day) -> CliResult<()> {
    if to < from {
        return Err(Fail::new(format!(
            "--to ({to}) is before --from ({from}); give the last day on or after the first"
        )));
    }
    Ok(())
}

pub async fn absence(g: &Global, cmd: AbsenceCmd) -> CliResult<()> {
    let ctx = open(g)?;
    match cmd {
        AbsenceCmd::Report {
            child,
            from,
            to,
            reason: r,
            note,
        } => {
            check_range(from, to)?;
            let c = child_by_query(&ctx, &child)?;
            let id = ctx
                .kp
                .report_absence(AbsenceReport {
                    child_id: c.id.clone(),
                    first_day: from,
                    last_day: to,
                    reason: reason(r),
                    note,
                })
                .map_err(|e| ctx.fail(e))?;
            send_now(&ctx).await?;
            let state = ctx
                .kp
                .absences(Some(c.id.clone()))
                .map_err(|e| ctx.fail(e))?
                .into_iter()
                .find(|a| a.absence.id == id)
                .map(|a| output::local_state(&a.local))
                .unwrap_or_default();
            out!(
                "{} absence {} reported for {} {from} – {to}: {state}",
                paint(GREEN, "✓"),
                paint(DIM, short(id.as_str())),
                c.first_name
            );
            Ok(())
        }
        AbsenceCmd::List => {
            ctx.require_login()?;
            print_absences(&ctx.kp, None).map_err(|e| ctx.fail(e))
        }
        AbsenceCmd::Withdraw { id } => {
            ctx.require_login()?;
            let all = ctx.kp.absences(None).map_err(|e| ctx.fail(e))?;
            let found: Vec<_> = all
                .iter()
                .filter(|a| a.absence.id.as_str().starts_with(id.trim()) && !id.trim().is_empty())
                .collect();
            let a = match found.as_slice() {
                [one] => one.absence.clone(),
                [] => {
                    return Err(Fail::new(format!(
                        "no absence report with id `{id}`; list them with `kidplan absence list`"
                    )));
                }
                _ => {
                    return Err(Fail::new(format!(
                        "`{id}` matches several absence reports; give more of the id"
                    )));
                }
            };
            ctx.kp
                .withdraw_absence(a.id.clone())
                .map_err(|e| ctx.fail(e))?;
            send_now(&ctx).await?;
            out!(
                "{} absence {} withdrawn",
                paint(GREEN, "✓"),
                paint(DIM, short(a.id.as_str()))
            );
            Ok(())
        }
    }
}

/// Absence reports with their states (shared with the demo).
pub fn print_absences(kp: &Kidplan, only: Option<&ChildId>) -> Result<(), KidplanError> {
    let children = kp.children()?;
    let mut t = Table::new(&[
        "Id",
        "Child",
        "From",
        "To",
        "Reason",
        "Status",
        "On this device",
    ]);
    for a in kp.absences(only.cloned())? {
        let status = match a.absence.status {
            AbsenceStatus::Acknowledged => paint(GREEN, "acknowledged"),
            s => output::name(&s),
        };
        t.row(vec![
            paint(DIM, short(a.absence.id.as_str())),
            child_name(&children, &a.absence.child_id),
            a.absence.first_day.to_string(),
            a.absence.last_day.to_string(),
            output::name(&a.absence.reason),
            status,
            output::local_state(&a.local),
        ]);
    }
    if t.is_empty() {
        out!("   (no absence reports)");
    } else {
        t.print(3);
    }
    Ok(())
}

pub async fn holiday(
    g: &Global,
    child: &str,
    from: Day,
    to: Day,
    note: Option<String>,
) -> CliResult<()> {
    let ctx = open(g)?;
    check_range(from, to)?;
    let c = child_by_query(&ctx, child)?;
    let id = ctx
        .kp
        .register_holiday(HolidayRegistration {
            child_id: c.id.clone(),
            first_day: from,
            last_day: to,
            note,
        })
        .map_err(|e| ctx.fail(e))?;
    send_now(&ctx).await?;
    out!(
        "{} holiday {} registered for {} {from} – {to}",
        paint(GREEN, "✓"),
        paint(DIM, short(id.as_str())),
        c.first_name
    );
    Ok(())
}

/// `kidplan reminders`: the reminders due in the coming days (Europe/Oslo times), not shown
/// yet, from the cache.
pub fn reminders(g: &Global) -> CliResult<()> {
    let ctx = open(g)?;
    let list = ctx.kp.upcoming_reminders().map_err(|e| ctx.fail(e))?;
    out!("{}", paint(BOLD, "Upcoming reminders (Europe/Oslo)"));
    let mut t = Table::new(&["When", "Reminder", "Text"]);
    for r in &list {
        t.row(vec![
            format!("{} {:02}:{:02}", r.day, r.hour, r.minute),
            r.notification.title.clone(),
            r.notification.body.clone(),
        ]);
    }
    t.print(0);
    if list.is_empty() {
        out!("No reminders due in the coming 30 days.");
    }
    Ok(())
}

pub async fn contact(g: &Global, cmd: ContactCmd) -> CliResult<()> {
    let ctx = open(g)?;
    ctx.require_login()?;
    match cmd {
        ContactCmd::Change { contact } => {
            let confirming = [&contact.email, &contact.phone]
                .iter()
                .any(|v| v.as_deref().is_some_and(|s| !s.is_empty()));
            ctx.kp
                .update_contact(contact.into_change())
                .map_err(|e| ctx.fail(e))?;
            send_now(&ctx).await?;
            out!("{} contact details sent", paint(GREEN, "✓"));
            if confirming {
                out!(
                    "A code was sent to the new address or number: run `kidplan contact confirm CODE`"
                );
            }
        }
        ContactCmd::Confirm { code } => {
            ctx.kp
                .confirm_contact(code)
                .await
                .map_err(|e| ctx.fail(e))?;
            let me = ctx.kp.me().map_err(|e| ctx.fail(e))?;
            let shown = me
                .map(|m| {
                    format!(
                        "{} / {}",
                        m.email.unwrap_or_default(),
                        m.phone.unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            out!("{} confirmed: {shown}", paint(GREEN, "✓"));
        }
    }
    Ok(())
}

pub fn consents(g: &Global, child: &str) -> CliResult<()> {
    let ctx = open(g)?;
    let c = child_by_query(&ctx, child)?;
    let guardians = ctx.kp.guardians().map_err(|e| ctx.fail(e))?;
    out!(
        "{}",
        paint(
            BOLD,
            format!("Consents for {} {}", c.first_name, c.last_name)
        )
    );
    let mut t = Table::new(&["Consent", "State", "Last changed", "By", "Changes"]);
    for k in ctx.kp.consents(c.id.clone()).map_err(|e| ctx.fail(e))? {
        let state = match k.state {
            ConsentState::Granted => paint(GREEN, "granted"),
            ConsentState::Denied => paint(YELLOW, "denied"),
            s => output::name(&s),
        };
        let last = k.history.last();
        let by = last
            .and_then(|h| guardians.iter().find(|g| g.id == h.changed_by))
            .map(|g| format!("{} {}", g.first_name, g.last_name))
            .unwrap_or_default();
        t.row(vec![
            output::name(&k.kind),
            state,
            last.map(|h| output::time(h.changed_at)).unwrap_or_default(),
            by,
            k.history.len().to_string(),
        ]);
    }
    if t.is_empty() {
        out!("   (no consents)");
    } else {
        t.print(3);
    }
    Ok(())
}

pub async fn sync(g: &Global) -> CliResult<()> {
    let ctx = open(g)?;
    ctx.require_login()?;
    let r = sync_with_progress(&ctx.kp, "syncing")
        .await
        .map_err(|e| ctx.fail(e))?;
    print_sync_report(&r);
    Ok(())
}

pub async fn export(g: &Global, dir: &Path) -> CliResult<()> {
    let ctx = open(g)?;
    ctx.require_login()?;
    std::fs::create_dir_all(dir).map_err(|e| {
        Fail::new(format!(
            "cannot create the directory {}: {e}",
            dir.display()
        ))
    })?;
    let dir_s = dir
        .to_str()
        .ok_or_else(|| Fail::new("the export directory's path must be valid UTF-8"))?
        .to_owned();
    let summary = ctx
        .kp
        .export_my_data(dir_s)
        .await
        .map_err(|e| ctx.fail(e))?;
    out!(
        "{} exported to {} (JSON, schema version {})",
        paint(GREEN, "✓"),
        paint(BOLD, &summary.path),
        summary.schema_version
    );
    let mut t = Table::new(&["Section", "Records"]);
    for s in &summary.sections {
        t.row(vec![s.name.replace('_', " "), s.count.to_string()]);
    }
    t.print(2);
    Ok(())
}

pub async fn telemetry(g: &Global, cmd: TelemetryCmd) -> CliResult<()> {
    let ctx = open(g)?;
    match cmd {
        TelemetryCmd::Preview => match ctx.kp.telemetry_preview() {
            Some(report) => {
                use std::io::Write;
                let mut o = std::io::stdout().lock();
                o.write_all(report.as_bytes())?;
                o.write_all(b"\n")?;
            }
            None => eprintln!(
                "kidplan: no report to send: telemetry is off, or nothing was counted yet"
            ),
        },
        TelemetryCmd::Status => out!(
            "anonymous usage counting is {}",
            if ctx.kp.telemetry_enabled() {
                paint(GREEN, "on")
            } else {
                paint(YELLOW, "off")
            }
        ),
        TelemetryCmd::On => {
            ctx.kp.set_telemetry_enabled(true);
            out!("{} anonymous usage counting is on", paint(GREEN, "✓"));
        }
        TelemetryCmd::Off => {
            ctx.kp.set_telemetry_enabled(false);
            out!(
                "{} anonymous usage counting is off; everything counted was deleted",
                paint(GREEN, "✓")
            );
        }
    }
    Ok(())
}

pub async fn logout(g: &Global) -> CliResult<()> {
    let ctx = open(g)?;
    let Some(account) = ctx.kp.active_account() else {
        out!("not logged in; nothing to do");
        return Ok(());
    };
    // Revokes the session on the server (best effort), then deletes the account locally.
    ctx.kp.logout().await.map_err(|e| ctx.fail(e))?;
    let _ = std::fs::remove_file(ctx.data_dir.join(SERVER_FILE));
    out!(
        "{} logged out of {}; its database, files and secrets were deleted from {}",
        paint(GREEN, "✓"),
        account.kindergarten_name,
        ctx.data_dir.display()
    );
    Ok(())
}
