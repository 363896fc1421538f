//! `kidplan demo`: a parent's day, played through the public API of kidplan-core against a
//! reference server started in this process (fresh temporary data, seeded demo kindergarten,
//! ephemeral 127.0.0.1 port).
//!
//! The kindergarten's side (acknowledging the absence, answering a message) goes through the
//! server's staff HTTP endpoints ([`crate::staff`]) and is labelled "[the kindergarten]".
//! Steps whose capability the core does not have yet are skipped with a one-line note; the
//! exit status is 0 only when every step that ran succeeded.

use crate::args::Lang;
use crate::commands::{self, short};
use crate::out;
use crate::output::{self, BOLD, DIM, GREEN, Table, YELLOW, paint};
use crate::staff::Staff;
use anyhow::{Context, Result, anyhow, bail, ensure};
use kidplan_api::model::*;
use kidplan_api::push::PushProvider;
use kidplan_api::reminders::{ReminderKind, ReminderSetting};
use kidplan_api::{AbsenceId, Day, ThreadId};
use kidplan_core::AbsenceReport;
use kidplan_core::secrets::keys;
use kidplan_core::{FileSecretStore, Kidplan, KidplanError, OutboxStatus, SecretStore};
use kidplan_server::{RunningServer, ServerConfig, demo};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// How a step ended (every capability the demo shows has landed in the core; a step whose
/// capability is missing would add a `Skipped(reason)` variant here rather than fake it).
enum Outcome {
    Done,
}

struct Demo {
    lang: Lang,
    server_dir: PathBuf,
    device_dir: PathBuf,
    addr: SocketAddr,
    server: Option<RunningServer>,
    kp: Arc<Kidplan>,
    secrets: Arc<FileSecretStore>,
    staff: Option<Staff>,
    /// The (fake) FCM token this device registered, when push registration worked.
    push_token: Option<String>,
    /// Pushes already taken from the server's push outbox.
    pushes_seen: usize,
}

fn server_config(dir: &Path) -> ServerConfig {
    let mut cfg = ServerConfig::new(dir);
    cfg.maintenance_every = None;
    cfg
}

/// Runs the demo; the exit status says whether every step that ran succeeded.
pub async fn run(lang: Lang) -> ExitCode {
    let started = Instant::now();
    out!(
        "{}",
        paint(BOLD, "Kidplan demo: a parent's day, on this machine")
    );
    let tmp = match tempfile::Builder::new().prefix("kidplan-demo-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("kidplan: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut demo = match Demo::start(tmp.path(), lang).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("kidplan: the demo could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };

    type Results = Vec<(usize, &'static str, Result<Outcome>)>;
    let mut results: Results = Vec::new();
    let titles = [
        "Log in with a one-time code",
        "First sync: children, today's attendance, the child log",
        "Offline: report an absence for tomorrow",
        "Messages: read a thread and answer it",
        "A reminder: tonight's parents' meeting",
        "Anonymous telemetry: the next report, byte for byte",
        "Export my data",
        "Log out: nothing of the account is left on this device",
    ];
    for (i, title) in titles.iter().enumerate() {
        let n = i + 1;
        output::heading(Some(n), title);
        let r = match n {
            1 => demo.login().await,
            2 => demo.first_sync().await,
            3 => demo.offline_absence().await,
            4 => demo.messages().await,
            5 => demo.reminder().await,
            6 => demo.telemetry().await,
            7 => demo.export().await,
            _ => demo.logout().await,
        };
        match &r {
            Ok(Outcome::Done) => {}
            Err(e) => output::failed(format!("{e:#}")),
        }
        let stop = r.is_err();
        results.push((n, title, r));
        if stop {
            break;
        }
    }
    demo.stop().await;

    output::heading(None, "Summary");
    let mut t = Table::new(&["Step", "", "Result"]);
    let mut failed = false;
    for (n, title, r) in &results {
        let res = match r {
            Ok(Outcome::Done) => paint(GREEN, "ok"),
            Err(_) => {
                failed = true;
                paint(output::RED, "FAILED")
            }
        };
        t.row(vec![n.to_string(), (*title).to_owned(), res]);
    }
    for (n, title) in titles.iter().enumerate().skip(results.len()) {
        t.row(vec![
            (n + 1).to_string(),
            (*title).to_owned(),
            paint(DIM, "not run"),
        ]);
    }
    t.print(3);
    drop(demo);
    let secs = started.elapsed().as_secs_f32();
    out!();
    if failed {
        out!(
            "{}",
            paint(output::RED, format!("The demo failed ({secs:.1} s)."))
        );
        ExitCode::FAILURE
    } else {
        out!(
            "{}",
            paint(
                GREEN,
                format!("The demo ran to the end ({secs:.1} s); its temporary data is removed.")
            )
        );
        ExitCode::SUCCESS
    }
}

impl Demo {
    async fn start(root: &Path, lang: Lang) -> Result<Demo> {
        let server_dir = root.join("server");
        let device_dir = root.join("device");
        let server = RunningServer::start(server_config(&server_dir))
            .await
            .context("starting the reference server")?;
        let url = server.base_url();
        output::say(format!(
            "Reference server (seeded demo kindergarten) on {}",
            paint(BOLD, &url)
        ));
        output::say(format!(
            "The parent's device keeps its data in {}",
            paint(DIM, device_dir.display())
        ));
        let dir = device_dir
            .to_str()
            .context("temporary path is not UTF-8")?
            .to_owned();
        let secrets = FileSecretStore::new(&dir)?;
        let mut tuning = commands::tuning();
        tuning.sync_page_limit = 250;
        let kp =
            Kidplan::open_with_tuning(dir, commands::config(&url, lang), secrets.clone(), tuning)?;
        output::say(format!(
            "kidplan-core opened with locale {}",
            paint(BOLD, output::name(&commands::locale(lang)))
        ));
        Ok(Demo {
            lang,
            addr: server.addr(),
            server_dir,
            device_dir,
            server: Some(server),
            kp,
            secrets,
            staff: None,
            push_token: None,
            pushes_seen: 0,
        })
    }

    fn server(&self) -> Result<&RunningServer> {
        self.server.as_ref().context("the server is not running")
    }

    async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// The kindergarten's staff member, logged in on first use.
    async fn staff(&mut self) -> Result<&Staff> {
        if self.staff.is_none() {
            let s = Staff::login(self.server()?, demo::STAFF_EMAIL).await?;
            output::kindergarten(format!(
                "Randi Solberg (manager) logs in to the staff tools as {}",
                demo::STAFF_EMAIL
            ));
            self.staff = Some(s);
        }
        self.staff.as_ref().context("staff login")
    }

    fn text(&self, nb: &'static str, nn: &'static str, en: &'static str) -> &'static str {
        match self.lang {
            Lang::Nb => nb,
            Lang::Nn => nn,
            Lang::En => en,
        }
    }

    // ----- 1 -----
    async fn login(&mut self) -> Result<Outcome> {
        let contact = demo::GUARDIAN_EMAIL;
        self.kp.request_login_code(contact.into()).await?;
        output::say(format!(
            "Asked the server for a login code for {}",
            paint(BOLD, contact)
        ));
        let code = self
            .server()?
            .last_login_code(contact)
            .context("no login code in the server's email outbox")?;
        output::say(format!(
            "The server's email outbox (instead of Mailgun) holds the code: {}",
            paint(BOLD, &code)
        ));
        let account = self.kp.verify_login_code(contact.into(), code).await?;
        output::ok(format!(
            "Logged in as a {} of {}",
            output::name(&account.role),
            paint(BOLD, &account.kindergarten_name)
        ));
        let token = "demo-fcm-token-0001".to_owned();
        self.kp
            .set_push_token(PushProvider::Fcm, token.clone())
            .await?;
        output::ok(format!(
            "Registered for push (FCM token {}; the server keys it by a random registration id)",
            paint(DIM, &token)
        ));
        self.push_token = Some(token);
        Ok(Outcome::Done)
    }

    // ----- 2 -----
    async fn first_sync(&mut self) -> Result<Outcome> {
        // At the kindergarten the first child is checked in at the door, so today's
        // attendance below has something to show.
        self.staff()
            .await?
            .check_in(demo::GUARDIAN_CHILD_IDS[0])
            .await?;
        output::kindergarten("Randi checks Emma in at the door");
        self.staff()
            .await?
            .set_child_picture(demo::GUARDIAN_CHILD_IDS[0])
            .await?;
        output::kindergarten("Randi sets Emma's profile picture (Emma's photo consent is given)");
        let t = Instant::now();
        let r = commands::sync_with_progress(&self.kp, "first sync").await?;
        output::ok(format!(
            "First sync: {} changes in {} pages ({} ms)",
            r.applied,
            r.pages,
            t.elapsed().as_millis()
        ));
        ensure!(r.applied > 0, "the first sync brought nothing");
        if let Some(me) = self.kp.me()? {
            output::say(format!(
                "Hello, {} {}",
                paint(BOLD, &me.first_name),
                me.last_name
            ));
        }
        out!();
        output::say(paint(BOLD, "Your children"));
        commands::print_children(&self.kp)?;
        let children = self.kp.children()?;
        ensure!(!children.is_empty(), "no children after the first sync");
        let emma = kidplan_api::ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);
        let picture = self.kp.child_picture(emma).await?;
        output::ok(format!(
            "Emma's profile picture downloaded into the account's file cache ({} bytes)",
            std::fs::metadata(&picture).map(|m| m.len()).unwrap_or(0)
        ));

        out!();
        let today = Day::today();
        output::say(paint(BOLD, format!("Attendance today ({today})")));
        let mut t = Table::new(&["Child", "Today"]);
        for a in self.kp.attendance(today)? {
            let name = children
                .iter()
                .find(|c| c.id == a.child_id)
                .map(|c| c.first_name.clone())
                .unwrap_or_default();
            let state = match a.state {
                AttendanceState::NotArrived => paint(DIM, "not arrived"),
                AttendanceState::CheckedIn { checked_in_at } => paint(
                    GREEN,
                    format!("in the kindergarten since {}", output::clock(checked_in_at)),
                ),
                AttendanceState::CheckedOut {
                    checked_in_at,
                    checked_out_at,
                } => format!(
                    "picked up {} (came {})",
                    output::clock(checked_out_at),
                    output::clock(checked_in_at)
                ),
            };
            t.row(vec![paint(BOLD, name), state]);
        }
        t.print(3);

        for c in &children {
            out!();
            output::say(paint(
                BOLD,
                format!("Latest in {}'s log (barnelogg)", c.first_name),
            ));
            commands::print_log(&self.kp, c, 3)?;
        }
        Ok(Outcome::Done)
    }

    // ----- 3 -----
    async fn offline_absence(&mut self) -> Result<Outcome> {
        let child = self.kp.children()?.into_iter().next().context("no child")?;
        let tomorrow = Day::today().plus_days(1);

        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        output::say(format!(
            "{} the server is stopped: the phone is offline",
            paint(YELLOW, "⚡")
        ));
        let note = self.text(
            "Feber i natt, holder seg hjemme.",
            "Feber i natt, held seg heime.",
            "Fever last night, staying home.",
        );
        let id = self.kp.report_absence(AbsenceReport {
            child_id: child.id.clone(),
            first_day: tomorrow,
            last_day: tomorrow,
            reason: AbsenceReason::Sick,
            note: Some(note.into()),
        })?;
        output::ok(format!(
            "{} reported sick for tomorrow ({tomorrow}): saved on the device",
            child.first_name
        ));
        match self.kp.sync().await {
            Err(KidplanError::Offline) => output::say(format!(
                "sync: {}",
                paint(YELLOW, "the server could not be reached (as expected)")
            )),
            Ok(_) => bail!("sync succeeded although the server is stopped"),
            Err(e) => bail!("sync failed unexpectedly: {e}"),
        }
        let view = self.absence(&id)?;
        ensure!(
            view.local == kidplan_core::LocalState::Pending,
            "the absence should be pending while offline"
        );
        output::say(format!(
            "The absence on the device: {}",
            output::local_state(&view.local)
        ));
        self.print_outbox()?;

        let mut cfg = server_config(&self.server_dir);
        cfg.bind = self.addr;
        let server = RunningServer::start(cfg)
            .await
            .context("restarting the server on the same address")?;
        self.server = Some(server);
        output::say(format!(
            "{} the server is back on {}: online again",
            paint(GREEN, "⚡"),
            self.addr
        ));
        let r = self.kp.sync().await?;
        output::ok(format!(
            "sync: {} changes pulled, {} queued action sent",
            r.applied, r.sent
        ));
        ensure!(r.sent >= 1, "the queued absence was not sent");
        self.print_outbox()?;
        let sent = self
            .kp
            .outbox()?
            .into_iter()
            .any(|i| i.entity_id == id.as_str() && i.status == OutboxStatus::Sent);
        ensure!(sent, "the absence is not shown as sent");
        let view = self.absence(&id)?;
        output::ok(format!(
            "The absence is sent: {} at the kindergarten, {} on the device",
            output::name(&view.absence.status),
            output::local_state(&view.local)
        ));

        self.staff().await?;
        let staff = self.staff.as_ref().context("staff")?;
        let acked = staff.acknowledge_absence(id.as_str()).await?;
        output::kindergarten(format!(
            "Randi acknowledges the absence: status {}",
            paint(BOLD, output::name(&acked.status))
        ));
        self.push_step("the acknowledgement").await?;
        let view = self.absence(&id)?;
        ensure!(
            view.absence.status == AbsenceStatus::Acknowledged,
            "the device does not show the absence as acknowledged"
        );
        output::ok("The device shows the absence as acknowledged:");
        commands::print_absences(&self.kp, Some(&child.id))?;
        Ok(Outcome::Done)
    }

    fn absence(&self, id: &AbsenceId) -> Result<kidplan_core::AbsenceView> {
        self.kp
            .absences(None)?
            .into_iter()
            .find(|a| &a.absence.id == id)
            .ok_or_else(|| anyhow!("the absence is not on the device"))
    }

    fn print_outbox(&self) -> Result<()> {
        output::say(paint(BOLD, "Outbox"));
        let mut t = Table::new(&["#", "Action", "Status", "Attempts", "Last error"]);
        for i in self.kp.outbox()? {
            t.row(vec![
                i.id.to_string(),
                i.kind.as_str().replace('_', " "),
                output::outbox_status(&i.status),
                i.attempts.to_string(),
                i.last_error.unwrap_or_default(),
            ]);
        }
        t.print(3);
        Ok(())
    }

    /// Takes the push the server produced (from its push outbox, where FCM would get it)
    /// through the core's `handle_push` and prints the notification the phone would show.
    async fn push_step(&mut self, what: &str) -> Result<()> {
        let token = self.push_token.clone().context("not registered for push")?;
        let pushes = self.server()?.sent_pushes();
        let ours: Vec<_> = pushes
            .iter()
            .skip(self.pushes_seen)
            .filter(|p| p.token == token)
            .collect();
        self.pushes_seen = pushes.len();
        let push = ours
            .last()
            .with_context(|| format!("the server sent no push for {what}"))?;
        let body = String::from_utf8(push.payload.clone()).context("push payload is not UTF-8")?;
        output::say(format!(
            "Push to the phone via {} (all the provider sees): {}",
            push.provider,
            paint(DIM, &body)
        ));
        let n = self
            .kp
            .handle_push(body)
            .await?
            .with_context(|| format!("handle_push showed no notification for {what}"))?;
        out!(
            "   {} {}  {}",
            paint(YELLOW, "🔔"),
            paint(BOLD, &n.title),
            n.body
        );
        output::say(paint(
            DIM,
            format!(
                "(category {}, built on the phone from its own cache after a sync, locale {})",
                output::name(&n.category),
                output::name(&commands::locale(self.lang))
            ),
        ));
        Ok(())
    }

    /// Shows the e-mail notice the server handed to its e-mail provider (the outbox stands in
    /// for Mailgun): the recipient and a fixed text, nothing about the child or the message.
    fn email_notice_step(&self, mails_before: usize) -> Result<()> {
        let mails = self.server()?.sent_messages();
        let notice = mails
            .iter()
            .skip(mails_before)
            .rfind(|m| m.recipient == demo::GUARDIAN_EMAIL)
            .context("no e-mail notice in the outbox")?;
        let text = kidplan_server::providers::message_text(notice)
            .context("the e-mail notice has no text")?;
        output::say(format!(
            "E-mail notice via {} (all the provider sees): to {}, text “{}”",
            notice.provider,
            notice.recipient,
            paint(DIM, &text)
        ));
        ensure!(
            !text.contains("Randi") && !text.contains("Supert"),
            "the e-mail notice carries content"
        );
        Ok(())
    }

    // ----- 4 -----
    async fn messages(&mut self) -> Result<Outcome> {
        output::say(paint(BOLD, "Inbox"));
        commands::print_threads(&self.kp)?;
        let children: Vec<_> = self.kp.children()?.into_iter().map(|c| c.id).collect();
        let threads = self.kp.threads()?;
        // The seed's canary threads exist for the privacy tests; the demo answers another.
        let canary = |t: &kidplan_core::ThreadSummary| {
            demo::CANARY_STRINGS.iter().any(|c| {
                t.thread.subject.contains(c)
                    || t.last_message.as_ref().is_some_and(|m| m.body.contains(c))
            })
        };
        let pick = threads
            .iter()
            .filter(|t| !t.thread.broadcast && !canary(t))
            .filter(|t| {
                t.thread
                    .child_id
                    .as_ref()
                    .is_some_and(|c| children.contains(c))
            })
            .max_by_key(|t| {
                (
                    t.unread_count > 0,
                    t.last_message.as_ref().map(|m| m.sent_at),
                )
            })
            .or_else(|| threads.iter().find(|t| !t.thread.broadcast))
            .context("no thread to answer")?;
        let id: ThreadId = pick.thread.id.clone();
        out!();
        output::say(format!(
            "Opening thread {} ({} unread)",
            paint(DIM, short(id.as_str())),
            pick.unread_count
        ));
        commands::print_thread(&self.kp, &id, 4)?;
        if pick.unread_count > 0 {
            self.kp.mark_read(id.clone())?;
        }
        let answer = self.text(
            "Tusen takk! Ha en fin dag.",
            "Tusen takk! Ha ein fin dag.",
            "Thank you! Have a nice day.",
        );
        self.kp.send_message(id.clone(), answer.into())?;
        output::ok(format!("Answered: “{answer}” (queued)"));
        let r = self.kp.sync().await?;
        ensure!(r.sent >= 1 && r.rejected == 0, "the answer was not sent");
        let unread_left = self
            .kp
            .threads()?
            .into_iter()
            .find(|t| t.thread.id == id)
            .map(|t| t.unread_count)
            .unwrap_or(0);
        output::ok(format!(
            "Sent ({} queued action(s) delivered); unread in the thread now: {unread_left}",
            r.sent
        ));

        let reply = self.text(
            "Supert, takk! Hilsen Randi",
            "Supert, takk! Helsing Randi",
            "Great, thanks! Randi",
        );
        let about = pick.thread.child_id.clone();
        if let Some(child) = &about {
            self.kp
                .update_notification_preferences(vec![NotificationPreference {
                    child_id: child.clone(),
                    category: NotificationCategory::Messages,
                    delivery: Delivery::PushAndEmail,
                }])?;
            let r = self.kp.sync().await?;
            ensure!(r.rejected == 0, "the preference was rejected");
            output::ok("Messages about this child: by push and e-mail from now on");
        }
        let mails_before = self.server()?.sent_messages().len();
        self.staff().await?;
        let staff = self.staff.as_ref().context("staff")?;
        staff.answer(id.as_str(), reply).await?;
        output::kindergarten(format!("Randi answers: “{reply}”"));
        self.push_step("the answer").await?;
        if about.is_some() {
            self.email_notice_step(mails_before)?;
        }
        let got = self
            .kp
            .messages(id.clone(), None, 5)?
            .iter()
            .any(|m| m.message.body == reply);
        ensure!(got, "the kindergarten's answer did not arrive");
        commands::print_thread(&self.kp, &id, 3)?;
        Ok(Outcome::Done)
    }

    // ----- 5 -----
    async fn reminder(&mut self) -> Result<Outcome> {
        // Reminders of calendar events due a minute ago for an event three hours from now: on
        // the day itself, or the day before when the event is past Oslo's midnight (the
        // default is the day before at 18:00).
        use kidplan_core::local::reminders::oslo;
        let now = kidplan_api::Timestamp::now();
        let starts = kidplan_api::Timestamp(now.0 + 3 * 3_600_000);
        let (today, minute) = oslo(kidplan_api::Timestamp(now.0 - 60_000));
        let days_before = u8::try_from((oslo(starts).0.0 - today.0).num_days())?;
        let at = format!("{:02}:{:02}", minute / 60, minute % 60);
        self.kp.update_reminder_settings(vec![ReminderSetting {
            kind: ReminderKind::CalendarEvent,
            enabled: true,
            at: at.clone(),
            days_before,
        }])?;
        self.kp.sync().await?;
        output::ok(format!(
            "Calendar reminders: {}, from {at} (Europe/Oslo)",
            if days_before == 0 {
                "on the day itself"
            } else {
                "the day before"
            }
        ));
        self.staff().await?;
        let staff = self.staff.as_ref().context("staff")?;
        let event = staff
            .create_event(
                "Foreldremøte i kveld",
                starts,
                kidplan_api::Timestamp(starts.0 + 3_600_000),
            )
            .await?;
        output::kindergarten(format!(
            "Randi adds “{}” to the calendar, at {}",
            event.title,
            output::time(event.starts_at)
        ));
        self.kp.sync().await?;
        output::say(paint(
            BOLD,
            "Reminders the phone can schedule by itself (listed from its cache, offline too)",
        ));
        let mut t = Table::new(&["When", "Reminder", "Text"]);
        for r in self.kp.upcoming_reminders()?.iter().take(4) {
            t.row(vec![
                format!("{} {:02}:{:02}", r.day, r.hour, r.minute),
                r.notification.title.clone(),
                r.notification.body.clone(),
            ]);
        }
        t.print(3);
        let sent = self.server()?.run_reminders().await?;
        ensure!(sent >= 1, "the server's scheduler sent no reminder");
        self.server()?.deliver_queue().await;
        output::kindergarten("The server's reminder scheduler finds the reminder due");
        self.push_step("the reminder").await?;
        ensure!(
            !self
                .kp
                .upcoming_reminders()?
                .iter()
                .any(|r| r.event_id == event.id),
            "the shown reminder is still listed"
        );
        output::ok("Shown once: no longer in the list the phone schedules from");
        Ok(Outcome::Done)
    }

    // ----- 6 -----
    async fn telemetry(&mut self) -> Result<Outcome> {
        output::say(format!(
            "Anonymous usage counting is {}",
            if self.kp.telemetry_enabled() {
                paint(GREEN, "on")
            } else {
                paint(YELLOW, "off")
            }
        ));
        if !self.kp.telemetry_enabled() {
            self.kp.set_telemetry_enabled(true);
            output::say("switched on for the demo");
        }
        let report = self
            .kp
            .telemetry_preview()
            .context("no telemetry report (nothing was counted)")?;
        output::say(format!(
            "The next report, exactly as it would be sent ({} bytes, padded to a fixed size; \
             no account, device or install id, day-level time only; padding abbreviated):",
            report.len()
        ));
        out!("{}", abbreviate_padding(&report));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&report)
            && let Some(serde_json::Value::Array(counters)) = v.get("counters")
        {
            let mut t = Table::new(&["Metric", "Bucket", "Count"]);
            for c in counters {
                let field = |k: &str| {
                    c.get(k)
                        .map(|x| x.to_string().trim_matches('"').replace('_', " "))
                };
                t.row(vec![
                    field("metric").unwrap_or_default(),
                    field("bucket").unwrap_or_default(),
                    field("count").unwrap_or_default(),
                ]);
            }
            output::say("In words: only closed enums, fixed buckets and counts");
            t.print(3);
        }
        for canary in [demo::GUARDIAN_EMAIL, "Nordmann", "Emma", demo::GUARDIAN_ID] {
            ensure!(
                !report.contains(canary),
                "the report contains personal data"
            );
        }
        output::ok("It holds no e-mail address, name or id of the parent or the children");
        Ok(Outcome::Done)
    }

    // ----- 7 -----
    async fn export(&mut self) -> Result<Outcome> {
        let dir = self.server_dir.with_file_name("export");
        std::fs::create_dir_all(&dir)?;
        let dir_s = dir.to_str().context("path is not UTF-8")?.to_owned();
        let summary = self.kp.export_my_data(dir_s).await?;
        let bytes = std::fs::read(&summary.path).context("reading the export")?;
        output::ok(format!(
            "Exported to {} ({} bytes, JSON, schema version {})",
            paint(BOLD, &summary.path),
            bytes.len(),
            summary.schema_version
        ));
        let mut t = Table::new(&["Section", "Records"]);
        for sec in &summary.sections {
            t.row(vec![sec.name.replace('_', " "), sec.count.to_string()]);
        }
        t.print(3);
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .context("the export is not valid JSON")?;
        let text = String::from_utf8_lossy(&bytes);
        let account = self.kp.active_account().context("not logged in")?;
        let mut secrets = 0;
        for k in keys::all(account.id.as_str()) {
            if let Some(v) = self.secrets.get(k)? {
                let v = v.rsplit(' ').next().unwrap_or(&v).to_owned();
                ensure!(!text.contains(&v), "the export contains a secret");
                secrets += 1;
            }
        }
        output::ok(format!(
            "Machine-readable JSON; none of the device's {secrets} secrets (tokens, database key) is in it"
        ));
        Ok(Outcome::Done)
    }

    // ----- 8 -----
    async fn logout(&mut self) -> Result<Outcome> {
        let account = self.kp.active_account().context("not logged in")?;
        let id = account.id.as_str().to_owned();
        output::say(paint(BOLD, "The device before logging out"));
        self.print_device()?;
        self.print_secrets(&id)?;
        self.kp.logout().await?;
        output::ok("Logged out: the session is revoked on the server");
        out!();
        output::say(paint(BOLD, "The device after logging out"));
        self.print_device()?;
        let left = self.print_secrets(&id)?;
        let files = walk(&self.device_dir);
        let leftovers: Vec<_> = files
            .iter()
            .filter(|(p, _)| p.to_string_lossy().contains(&id))
            .collect();
        ensure!(
            leftovers.is_empty(),
            "files of the account are still on the device"
        );
        ensure!(left == 0, "secrets of the account are still on the device");
        ensure!(
            self.kp.accounts().is_empty(),
            "the account is still registered"
        );
        ensure!(self.kp.children()?.is_empty(), "data is still readable");
        output::say(paint(
            DIM,
            "accounts.json is the empty account list; telemetry.json holds this install's \
             anonymous counters (no account, no identifier)",
        ));
        output::ok(format!(
            "Nothing of the account is left: no database, no files, no secrets ({} accounts on the device)",
            self.kp.accounts().len()
        ));
        Ok(Outcome::Done)
    }

    fn print_device(&self) -> Result<()> {
        let mut t = Table::new(&["File", "Bytes"]);
        for (p, size) in walk(&self.device_dir) {
            t.row(vec![p.display().to_string(), size.to_string()]);
        }
        if t.is_empty() {
            output::say("(empty)");
        } else {
            t.print(3);
        }
        Ok(())
    }

    /// Prints how many secrets the account has; returns that number.
    fn print_secrets(&self, account: &str) -> Result<usize> {
        let mut n = 0;
        for k in keys::all(account) {
            if self.secrets.get(k)?.is_some() {
                n += 1;
            }
        }
        let total = std::fs::read(self.device_dir.join("secrets.json"))
            .ok()
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&b).ok()
            })
            .map(|m| m.len())
            .unwrap_or(0);
        output::say(format!(
            "secrets.json (mode 0600): {total} secrets in all, {n} of this account"
        ));
        Ok(n)
    }
}

/// The report with its run of padding spaces shown as `<N spaces>` (the rest byte for byte).
fn abbreviate_padding(report: &str) -> String {
    let trimmed = report.trim_end();
    match report.find("     ") {
        Some(start) => {
            let run = report[start..].chars().take_while(|c| *c == ' ').count();
            format!(
                "{}{}{}",
                &report[..start],
                paint(DIM, format!("<{run} spaces>")),
                &report[start + run..]
            )
        }
        None => trimmed.to_owned(),
    }
}

/// Every file under `root` (relative paths, sorted) with its size.
fn walk(root: &Path) -> Vec<(PathBuf, u64)> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                go(root, &p, out);
            } else {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((p.strip_prefix(root).unwrap_or(&p).to_owned(), size));
            }
        }
    }
    let mut out = Vec::new();
    go(root, root, &mut out);
    out.sort();
    out
}
