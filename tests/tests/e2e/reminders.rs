//! Reminders ("påminnelser") end to end: the parent's settings reach the server, the device
//! lists the reminders due soon from its cache (for a shell to schedule offline), the server's
//! scheduler sends a content-free reminder push that `handle_push` turns into the text, built
//! on the device, shown once; a holiday-registration reminder goes once the children are
//! registered.

use kidplan_api::paths;
use kidplan_api::push::PushProvider;
use kidplan_api::reminders::{ReminderKind, ReminderSetting};
use kidplan_api::staff::CreateEvent;
use kidplan_api::{Day, Timestamp};
use kidplan_core::local::reminders::oslo;
use kidplan_core::{HolidayRegistration, Kidplan};
use kidplan_tests::*;

/// The push payloads the server sent to `token`.
fn payloads(server: &kidplan_server::RunningServer, token: &str) -> Vec<String> {
    server
        .sent_pushes()
        .into_iter()
        .filter(|p| p.token == token)
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

/// `HH:MM` in Europe/Oslo, a minute ago.
fn a_minute_ago() -> String {
    let (_, minute) = oslo(Timestamp(Timestamp::now().0 - 60_000));
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

async fn settle(kp: &Kidplan) -> anyhow::Result<()> {
    for _ in 0..5 {
        if kp.sync().await?.pending == 0 {
            return Ok(());
        }
    }
    anyhow::bail!("the outbox did not settle")
}

/// An event three hours from now, and calendar reminders set to fall due a minute ago for it
/// (the same day, or the day before when the event is after Oslo's midnight), synced to `kp`;
/// push registered under `token`. The event's id and the words its reminder uses for its day.
async fn event_tonight(
    kp: &Kidplan,
    server: &kidplan_server::RunningServer,
    token: &str,
) -> anyhow::Result<(String, &'static str)> {
    if oslo(Timestamp::now()).1 < 2 {
        // "A minute ago" would be yesterday's clock time: wait for the new day's third minute.
        tokio::time::sleep(std::time::Duration::from_secs(150)).await;
    }
    kp.set_push_token(PushProvider::Fcm, token.into()).await?;
    let starts = Timestamp::now().0 + 3 * 3_600_000;
    let days_before = (oslo(Timestamp(starts)).0.0 - oslo(Timestamp::now()).0.0).num_days();
    kp.update_reminder_settings(vec![ReminderSetting {
        kind: ReminderKind::CalendarEvent,
        enabled: true,
        at: a_minute_ago(),
        days_before: u8::try_from(days_before)?,
    }])?;
    settle(kp).await?;
    let staff = RawSession::login(server, kidplan_server::demo::STAFF_EMAIL).await?;
    let event: serde_json::Value = staff
        .post(
            paths::STAFF_EVENTS,
            &CreateEvent {
                department_id: None,
                title: "Foreldremøte i kveld".into(),
                description: None,
                starts_at: Timestamp(starts),
                ends_at: Timestamp(starts + 3_600_000),
                registration_deadline: None,
            },
        )
        .await?;
    let event_id = event["id"].as_str().unwrap_or_default().to_owned();
    kp.sync().await?;
    Ok((
        event_id,
        if days_before == 0 {
            "i dag"
        } else {
            "i morgen"
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_is_listed_offline_then_pushed_content_free_and_shown_once() -> anyhow::Result<()>
{
    let (device, server, kp) = Device::start(fast_tuning()).await?;
    let _keep = &device;
    let (event_id, when) = event_tonight(&kp, &server, "reminder-token-1").await?;

    // Offline list: the reminder, keyed, with its text in nb, due today.
    let upcoming = kp.upcoming_reminders()?;
    let listed = upcoming
        .iter()
        .find(|r| r.event_id.as_str() == event_id)
        .ok_or_else(|| anyhow::anyhow!("the event's reminder is not listed: {upcoming:?}"))?
        .clone();
    assert_eq!(listed.key, format!("reminder/calendar_event/{event_id}"));
    assert_eq!(listed.day, oslo(Timestamp::now()).0);
    assert_eq!(
        listed.notification.body,
        format!("Foreldremøte i kveld {when}.")
    );

    // The server's scheduler sends a content-free reminder push.
    assert!(server.run_reminders().await? >= 1);
    server.deliver_queue().await;
    let sent = payloads(&server, "reminder-token-1");
    let push = sent
        .iter()
        .find(|p| p.contains("\"reminder\""))
        .ok_or_else(|| anyhow::anyhow!("no reminder push in {sent:?}"))?
        .clone();
    assert!(
        push.contains(&format!("calendar_event/{event_id}")),
        "{push}"
    );
    assert!(
        !push.contains("Foreldremøte"),
        "the push carries the title: {push}"
    );

    // The device builds the same notification from its cache, once.
    let n = kp
        .handle_push(push.clone())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no notification"))?;
    assert_eq!(n, listed.notification);
    assert_eq!(kp.handle_push(push).await?, None, "shown twice");
    assert!(
        !kp.upcoming_reminders()?
            .iter()
            .any(|r| r.event_id.as_str() == event_id),
        "a shown reminder is still listed"
    );
    // The scheduler does not send it again either.
    assert_eq!(server.run_reminders().await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_alarm_shows_it_once_and_the_push_then_shows_nothing() -> anyhow::Result<()> {
    let (device, server, kp) = Device::start(fast_tuning()).await?;
    let _keep = &device;
    let (event_id, _) = event_tonight(&kp, &server, "reminder-token-2").await?;
    let listed = kp
        .upcoming_reminders()?
        .into_iter()
        .find(|r| r.event_id.as_str() == event_id)
        .ok_or_else(|| anyhow::anyhow!("the event's reminder is not listed"))?;
    // The alarm's instant is the listed Oslo wall-clock time, and it has come.
    assert_eq!(
        oslo(listed.due_at),
        (
            listed.day,
            i64::from(listed.hour) * 60 + i64::from(listed.minute)
        )
    );
    assert!(
        listed.due_at <= Timestamp::now(),
        "set to fall due a minute ago, it is not due yet"
    );

    // The shell's alarm goes off: the notification once, then nothing.
    assert_eq!(
        kp.reminder_due(listed.key.clone())?,
        Some(listed.notification.clone())
    );
    assert_eq!(kp.reminder_due(listed.key.clone())?, None, "shown twice");
    // The server's push of the same reminder shows nothing either.
    assert!(server.run_reminders().await? >= 1);
    server.deliver_queue().await;
    let push = payloads(&server, "reminder-token-2")
        .into_iter()
        .find(|p| p.contains("\"reminder\"") && p.contains(&format!("calendar_event/{event_id}")))
        .ok_or_else(|| anyhow::anyhow!("no reminder push"))?;
    assert_eq!(
        kp.handle_push(push).await?,
        None,
        "shown by the alarm and the push"
    );
    // A key the core did not make is refused.
    for bad in ["", "reminder/calendar_event/../x", "thread/t1"] {
        assert_eq!(
            kp.reminder_due(bad.into()).err(),
            Some(kidplan_core::KidplanError::invalid("key")),
            "{bad}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holiday_deadline_reminder_goes_once_every_child_is_registered() -> anyhow::Result<()> {
    let (device, server, kp) = Device::start(fast_tuning()).await?;
    let _keep = &device;
    let staff = RawSession::login(&server, kidplan_server::demo::STAFF_EMAIL).await?;
    let (first, last) = (Day::today().plus_days(40), Day::today().plus_days(50));
    let at = |d: Day| {
        Timestamp(
            d.0.and_hms_opt(8, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
                .unwrap_or_default(),
        )
    };
    let event: serde_json::Value = staff
        .post(
            paths::STAFF_EVENTS,
            &CreateEvent {
                department_id: None,
                title: "Høstferie".into(),
                description: None,
                starts_at: at(first),
                ends_at: at(last),
                registration_deadline: Some(Day::today().plus_days(10)),
            },
        )
        .await?;
    let event_id = event["id"].as_str().unwrap_or_default().to_owned();
    kp.sync().await?;
    let listed = |kp: &Kidplan| -> anyhow::Result<Vec<kidplan_core::UpcomingReminder>> {
        Ok(kp
            .upcoming_reminders()?
            .into_iter()
            .filter(|r| r.event_id.as_str() == event_id)
            .collect())
    };
    let before = listed(&kp)?;
    let deadline = before
        .iter()
        .find(|r| r.kind == ReminderKind::HolidayDeadline)
        .ok_or_else(|| anyhow::anyhow!("no deadline reminder: {before:?}"))?;
    // Three days before the deadline at 18:00 (the defaults).
    assert_eq!(deadline.day, Day::today().plus_days(7));
    assert_eq!((deadline.hour, deadline.minute), (18, 0));
    assert!(deadline.notification.body.contains("Høstferie"));
    // Register every child's holiday over the period: the reminder goes.
    for child in kp.children()? {
        kp.register_holiday(HolidayRegistration {
            child_id: child.id,
            first_day: first,
            last_day: last,
            note: None,
        })?;
    }
    settle(&kp).await?;
    assert!(
        !listed(&kp)?
            .iter()
            .any(|r| r.kind == ReminderKind::HolidayDeadline),
        "still reminded after registering"
    );
    Ok(())
}
