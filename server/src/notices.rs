//! Who is told about something, and how: push, e-mail or SMS per the guardian's delivery
//! choice for the category ([`kidplan_api::model::Delivery`]), and the texts of e-mail and SMS
//! notices. A notice names neither the child nor the content ("You have a new message in
//! Kidplan"), in the guardian's language when known (nb, nn, en; else nb).
//!
//! [`restricted`] is the one place that decides that a person receives nothing.

use crate::entities;
use crate::error::AppResult;
use crate::send_queue::{self, For, Item};
use kidplan_api::model::{Delivery, NotificationCategory};
use kidplan_api::push::{Locale, PushKind};
use rusqlite::{Connection, params};

/// The channels a guardian is told by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channels {
    pub push: bool,
    pub email: bool,
    pub sms: bool,
}

impl Channels {
    fn add(&mut self, d: Delivery) {
        self.push |= d.push();
        self.email |= d.email();
        self.sms |= d.sms();
    }
}

/// What a notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Something new in a category.
    Category(NotificationCategory),
    /// A calendar event is coming up.
    EventReminder,
    /// The holiday registration deadline is near.
    DeadlineReminder,
}

/// True when nothing may be sent to this person: an accepted restriction of processing
/// (GDPR art. 18) of the guardian is in force ([`crate::consent::restricted`]). Checked here
/// and only here: every push, e-mail, SMS and reminder to a guardian goes through [`tell`].
pub fn restricted(conn: &Connection, person_id: &str) -> AppResult<bool> {
    crate::consent::restricted(conn, person_id)
}

/// The channels of a guardian for a category, over the children that make the guardian part
/// of the audience (any child's choice counts). With no child (a thread to the guardian
/// alone), the category's default. Urgent alerts are always pushed.
pub fn channels(
    conn: &Connection,
    guardian_id: &str,
    children: &[String],
    category: NotificationCategory,
) -> AppResult<Channels> {
    let mut c = Channels::default();
    if children.is_empty() {
        c.add(entities::default_delivery(category));
    }
    for child in children {
        c.add(entities::delivery(conn, guardian_id, child, category)?);
    }
    if category == NotificationCategory::Urgent {
        c.push = true;
    }
    Ok(c)
}

/// Queues what a guardian is told: one push per registration (content-free: `kind` and
/// `hint`), and an e-mail and/or SMS notice when chosen and the guardian has the address.
#[allow(clippy::too_many_arguments)]
pub fn tell(
    conn: &Connection,
    guardian_id: &str,
    channels: Channels,
    notice: Notice,
    kind: PushKind,
    hint: &str,
    alert: bool,
    now: i64,
) -> AppResult<()> {
    if restricted(conn, guardian_id)? {
        return Ok(());
    }
    let Some((kindergarten_id, email, phone, locale)) = contact(conn, guardian_id)? else {
        return Ok(());
    };
    let who = For {
        kindergarten_id: Some(&kindergarten_id),
        person_id: Some(guardian_id),
    };
    if channels.push {
        let regs = entities::strings(
            conn,
            "SELECT id FROM push_registrations WHERE guardian_id = ?1 ORDER BY id",
            guardian_id,
        )?;
        for registration_id in regs {
            let item = Item::Push {
                registration_id,
                kind,
                hint: Some(hint.to_owned()),
                alert,
            };
            send_queue::enqueue(conn, &item, who, now)?;
        }
    }
    let (subject, text) = text(notice, locale);
    if let (true, Some(to)) = (channels.email, email) {
        let item = Item::Email {
            to,
            subject: subject.to_owned(),
            text: text.to_owned(),
        };
        send_queue::enqueue(conn, &item, who, now)?;
    }
    if let (true, Some(to)) = (channels.sms, phone) {
        let item = Item::Sms {
            to,
            text: format!("Kidplan: {text}"),
        };
        send_queue::enqueue(conn, &item, who, now)?;
    }
    Ok(())
}

type Contact = (String, Option<String>, Option<String>, Locale);

fn contact(conn: &Connection, guardian_id: &str) -> AppResult<Option<Contact>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kindergarten_id, email, phone, locale FROM guardians WHERE id = ?1",
    )?;
    crate::db::opt(stmt.query_row(params![guardian_id], |r| {
        let locale = match r.get::<_, Option<String>>(3)?.as_deref() {
            Some("nn") => Locale::Nn,
            Some("en") => Locale::En,
            _ => Locale::Nb,
        };
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, locale))
    }))
}

/// The subject and text of a notice.
pub fn text(notice: Notice, locale: Locale) -> (&'static str, &'static str) {
    use Locale::*;
    use NotificationCategory as C;
    let text = match (notice, locale) {
        (Notice::Category(C::Messages), Nb) => "Du har en ny melding i Kidplan.",
        (Notice::Category(C::Messages), Nn) => "Du har ei ny melding i Kidplan.",
        (Notice::Category(C::Messages), En) => "You have a new message in Kidplan.",
        (Notice::Category(C::AbsenceAcknowledged), Nb) => {
            "Barnehagen har bekreftet et fravær. Se Kidplan."
        }
        (Notice::Category(C::AbsenceAcknowledged), Nn) => {
            "Barnehagen har stadfesta eit fråvær. Sjå Kidplan."
        }
        (Notice::Category(C::AbsenceAcknowledged), En) => {
            "The kindergarten acknowledged an absence. See Kidplan."
        }
        (Notice::Category(C::ChildLog), Nb) => "Det er en ny oppføring i barneloggen i Kidplan.",
        (Notice::Category(C::ChildLog), Nn) => "Det er ei ny oppføring i barneloggen i Kidplan.",
        (Notice::Category(C::ChildLog), En) => "There is a new entry in the child log in Kidplan.",
        (Notice::Category(C::Calendar), Nb) => "Det er en ny hendelse i kalenderen i Kidplan.",
        (Notice::Category(C::Calendar), Nn) => "Det er ei ny hending i kalenderen i Kidplan.",
        (Notice::Category(C::Calendar), En) => "There is a new event in the calendar in Kidplan.",
        (Notice::Category(C::Photos), Nb) => "Det er nye bilder i Kidplan.",
        (Notice::Category(C::Photos), Nn) => "Det er nye bilete i Kidplan.",
        (Notice::Category(C::Photos), En) => "There are new photos in Kidplan.",
        (Notice::Category(C::Urgent), Nb) => "Viktig melding fra barnehagen. Åpne Kidplan.",
        (Notice::Category(C::Urgent), Nn) => "Viktig melding frå barnehagen. Opne Kidplan.",
        (Notice::Category(C::Urgent), En) => {
            "Important message from the kindergarten. Open Kidplan."
        }
        (Notice::Category(_), Nb) => "Det er noe nytt i Kidplan.",
        (Notice::Category(_), Nn) => "Det er noko nytt i Kidplan.",
        (Notice::Category(_), En) => "There is something new in Kidplan.",
        (Notice::EventReminder, Nb) => "Påminnelse: det skjer noe i barnehagen snart. Se Kidplan.",
        (Notice::EventReminder, Nn) => "Påminning: det skjer noko i barnehagen snart. Sjå Kidplan.",
        (Notice::EventReminder, En) => {
            "Reminder: something is happening at the kindergarten soon. See Kidplan."
        }
        (Notice::DeadlineReminder, Nb) => {
            "Påminnelse: fristen for å registrere ferie nærmer seg. Se Kidplan."
        }
        (Notice::DeadlineReminder, Nn) => {
            "Påminning: fristen for å registrere ferie nærmar seg. Sjå Kidplan."
        }
        (Notice::DeadlineReminder, En) => {
            "Reminder: the deadline to register holidays is coming up. See Kidplan."
        }
    };
    let subject = match (notice, locale) {
        (Notice::Category(C::Urgent), Nb | Nn) => "Viktig fra barnehagen",
        (Notice::Category(C::Urgent), En) => "Important from the kindergarten",
        (Notice::EventReminder | Notice::DeadlineReminder, Nb) => "Påminnelse fra Kidplan",
        (Notice::EventReminder | Notice::DeadlineReminder, Nn) => "Påminning frå Kidplan",
        (Notice::EventReminder | Notice::DeadlineReminder, En) => "Reminder from Kidplan",
        (_, Nb) => "Nytt i Kidplan",
        (_, Nn) => "Nytt i Kidplan",
        (_, En) => "New in Kidplan",
    };
    (subject, text)
}
