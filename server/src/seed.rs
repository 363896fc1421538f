//! The demo kindergarten: deterministic (seeded random numbers), fictional Norwegian names
//! only, with canary values that privacy tests search for. See [`demo`] for the contacts.

use crate::entities::enum_str;
use crate::feed;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use kidplan_api::model::*;
use kidplan_api::sync::EntityKind;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, Transaction, params};
use std::path::Path;

/// Contacts, ids and canary values of the demo data.
///
/// Everyone logs in with `POST /v1/auth/code` + `POST /v1/auth/token`; the code is in the
/// outbox ([`crate::RunningServer::last_login_code`]).
///
/// - [`GUARDIAN_EMAIL`] (Kari Nordmann): two children, Emma (department Blåbær) and Jakob
///   (Tyttebær). Emma's other guardian is the canary guardian, so Kari sees the canary
///   guardian's name (not contact fields), a thread the canary guardian started about Emma and
///   a photo of Emma that also shows the canary child (Kari sees only Emma's tag).
/// - [`SECOND_GUARDIAN_EMAIL`] (Per Hansen): another family, one child (Nora, Tyttebær).
/// - [`TWO_KINDERGARTEN_GUARDIAN_EMAIL`] / [`TWO_KINDERGARTEN_GUARDIAN_PHONE`] (Lise Berg):
///   a child in each kindergarten; one account per kindergarten: the email logs into
///   Solsikken, the phone number into Furulunden.
/// - [`STAFF_EMAIL`] (Randi Solberg, manager of Solsikken): staff session.
/// - [`CANARY_GUARDIAN_EMAIL`]: the canary guardian (guardian of Emma and of the canary child).
pub mod demo {
    pub const KINDERGARTEN_ID: &str = "6513270e-269e-4d37-b2a7-4de452e6b438";
    pub const KINDERGARTEN_NAME: &str = "Solsikken barnehage";
    /// The summer holiday registration period of Solsikken (a calendar event with a
    /// registration deadline five days after seeding).
    pub const HOLIDAY_PERIOD_ID: &str = "5f1c2a8e-7d3b-4e61-9a0c-2b8e4f6d1a37";
    pub const SECOND_KINDERGARTEN_ID: &str = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450";
    pub const SECOND_KINDERGARTEN_NAME: &str = "Furulunden barnehage";
    pub const DEPARTMENT_IDS: [&str; 2] = [
        "9531985d-5d9d-49f8-9818-e811892f902b",
        "36f675cc-81e7-4ef5-a8e2-5d940ed90475",
    ];

    pub const GUARDIAN_EMAIL: &str = "kari.nordmann@example.org";
    pub const GUARDIAN_PHONE: &str = "+4791000001";
    pub const GUARDIAN_ID: &str = "8d116ece-1738-47d9-bd9c-172411e20b8f";
    /// Kari's children: Emma (shares department and a photo with the canary child), Jakob.
    pub const GUARDIAN_CHILD_IDS: [&str; 2] = [
        "90c192cf-d3ac-44af-8f21-ddb66cad4a26",
        "a170b338-3926-4059-b28c-105d1fb17c23",
    ];

    pub const SECOND_GUARDIAN_EMAIL: &str = "per.hansen@example.org";
    pub const SECOND_GUARDIAN_ID: &str = "0fd630f1-f29d-4da9-953f-48f1a09f76b5";
    pub const SECOND_GUARDIAN_CHILD_ID: &str = "0cb1e29c-658c-4a14-95e6-0af593bd04cf";

    pub const TWO_KINDERGARTEN_GUARDIAN_EMAIL: &str = "lise.berg@example.org";
    pub const TWO_KINDERGARTEN_GUARDIAN_PHONE: &str = "+4791000003";

    pub const STAFF_EMAIL: &str = "randi.solberg@example.org";
    pub const STAFF_ID: &str = "8e81973e-0bec-47b0-b898-d190f9ebdacc";
    /// Staff of the second kindergarten.
    pub const SECOND_STAFF_EMAIL: &str = "terje.lie@example.org";

    pub const CANARY_CHILD_ID: &str = "6b4cb242-4a23-4596-a217-beaddbc496cb";
    pub const CANARY_CHILD_FIRST_NAME: &str = "Canaryx";
    pub const CANARY_CHILD_LAST_NAME: &str = "Qzv";
    pub const CANARY_CHILD_NAME: &str = "Canaryx Qzv";
    pub const CANARY_CHILD_INFO: &str = "Canaryinfo: allergic to Qzvberries";
    pub const CANARY_GUARDIAN_ID: &str = "92276658-1e27-41c0-8a6a-63ec24ede6a4";
    pub const CANARY_GUARDIAN_FIRST_NAME: &str = "Canaryguardian";
    pub const CANARY_GUARDIAN_LAST_NAME: &str = "Wqx";
    pub const CANARY_GUARDIAN_NAME: &str = "Canaryguardian Wqx";
    pub const CANARY_GUARDIAN_EMAIL: &str = "canary.wqx@example.org";
    pub const CANARY_GUARDIAN_PHONE: &str = "+4799912345";
    pub const CANARY_GUARDIAN_ADDRESS: &str = "Canaryveien 7, Wqxby";
    /// The canary guardian's free text about themself.
    pub const CANARY_GUARDIAN_INFO: &str = "Canarynote: works nights, call after noon";
    pub const CANARY_PICKUP_NAME: &str = "Canarypickup Jxq";
    /// The thread the canary guardian started about Emma (the first message names them).
    pub const CANARY_THREAD_ID: &str = "ae97ba94-d0ed-482f-8f6d-05584ef8aa38";
    /// A document only for the canary child (its title names the child).
    pub const CANARY_DOCUMENT_ID: &str = "923a7369-94e3-4f91-9a61-dbe22e44158b";
    /// A photo of Emma and the canary child.
    pub const SHARED_PHOTO_ID: &str = "18f135d2-5f55-4203-b018-50c5a38fd547";
    /// A photo of the canary child alone.
    pub const CANARY_PHOTO_ID: &str = "907a70c3-1012-4037-b64c-e4228c38fb29";

    /// Every canary string: none may survive the erasure of the canary child and guardian.
    pub const CANARY_STRINGS: [&str; 9] = [
        "Canaryx",
        "Qzv",
        "Canaryguardian",
        "Wqx",
        "canary.wqx@example.org",
        "+4799912345",
        "Canaryveien",
        "Canarypickup",
        "Canarynote",
    ];
}

const CHILD_FIRST: &[&str] = &[
    "Nora", "Olivia", "Ella", "Sofie", "Leah", "Frida", "Ingrid", "Maja", "Sara", "Astrid",
    "Hedda", "Selma", "Tiril", "Ida", "Noah", "Emil", "Lucas", "Oliver", "Filip", "William",
    "Aksel", "Henrik", "Johannes", "Tobias", "Magnus", "Isak", "Liam", "Sander", "Olav", "Tuva",
];
const ADULT_FIRST: &[&str] = &[
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Hilde", "Silje",
    "Camilla", "Marte", "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein",
    "Geir", "Trond", "Eirik", "Håkon", "Morten",
];
const LAST: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Jakobsen",
    "Moen",
    "Gundersen",
    "Iversen",
    "Strand",
];
const MEALS: &[&str] = &[
    "Spiste godt til lunsj",
    "Spiste litt til frokost",
    "Ville ikke ha middag",
    "Spiste frukt og brød",
];
const SLEEP: &[&str] = &[
    "Sov en time",
    "Sov 45 minutter",
    "Hvilte, men sov ikke",
    "Sov godt i vogna",
];
const ACTIVITY: &[&str] = &[
    "Tur i skogen",
    "Malte med vannfarger",
    "Lekte i sandkassa",
    "Sang og dans",
    "Bygget med klosser",
];

/// Writes the demo data into an empty database (no-op when it already holds data).
pub fn seed_demo(
    conn: &mut Connection,
    files_dir: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let seeded: i64 = conn.query_row("SELECT COUNT(*) FROM kindergartens", [], |r| r.get(0))?;
    if seeded > 0 {
        return Ok(false);
    }
    std::fs::create_dir_all(files_dir)?;
    let tx = conn.transaction()?;
    let mut s = Seeder {
        tx: &tx,
        rng: StdRng::seed_from_u64(SEED),
        now,
        files_dir,
    };
    s.run()?;
    tx.commit()?;
    Ok(true)
}

/// The seed of the demo data's random numbers.
const SEED: u64 = 0x4b1d_91a4;

/// The weekdays of child log seeded per child: a year's worth.
const LOG_DAYS: usize = 260;

struct Seeder<'a> {
    tx: &'a Transaction<'a>,
    rng: StdRng,
    now: DateTime<Utc>,
    files_dir: &'a Path,
}

type R = anyhow::Result<()>;

impl Seeder<'_> {
    fn id(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    fn ms(&self, t: DateTime<Utc>) -> i64 {
        t.timestamp_millis()
    }

    fn days_ago(&self, d: i64) -> DateTime<Utc> {
        self.now - Duration::days(d)
    }

    fn touch(&self, kind: EntityKind, id: &str) -> R {
        feed::touch(self.tx, kind, id).map_err(|e| anyhow::anyhow!("{:?}", e.body))
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> R {
        self.tx.prepare_cached(sql)?.execute(p)?;
        Ok(())
    }

    fn pick<'b>(&mut self, list: &'b [&'b str]) -> &'b str {
        list.choose(&mut self.rng).copied().unwrap_or("")
    }

    fn run(&mut self) -> R {
        use demo::*;
        self.kindergarten(
            KINDERGARTEN_ID,
            KINDERGARTEN_NAME,
            &[
                (DEPARTMENT_IDS[0], "Blåbær"),
                (DEPARTMENT_IDS[1], "Tyttebær"),
            ],
        )?;
        self.kindergarten(
            SECOND_KINDERGARTEN_ID,
            SECOND_KINDERGARTEN_NAME,
            &[("6b0d549b-6f03-475a-9600-a35a099950d8", "Kongle")],
        )?;
        self.staff_members()?;
        let children = self.families()?;
        for c in &children {
            self.child_records(c)?;
        }
        self.messages(&children)?;
        self.calendar()?;
        self.media()?;
        self.holiday_period()
    }

    /// The summer holiday as a registration period: guardians register their children's
    /// holidays by a deadline five days from now (some children already have one).
    fn holiday_period(&mut self) -> R {
        let start = (self.now + Duration::days(40)).date_naive();
        let (first, last) = (start, start + Duration::days(21));
        let at = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
                .unwrap_or(0)
        };
        let deadline = (self.now + Duration::days(5)).date_naive();
        self.exec(
            "INSERT INTO calendar_events (id, kindergarten_id, department_id, title, description, starts_at, ends_at, registration_deadline)
             VALUES (?1, ?2, NULL, 'Sommerferie', 'Registrer barnas ferie innen fristen.', ?3, ?4, ?5)",
            params![demo::HOLIDAY_PERIOD_ID, demo::KINDERGARTEN_ID, at(first), at(last), day_str(deadline)],
        )?;
        self.touch(EntityKind::CalendarEvent, demo::HOLIDAY_PERIOD_ID)
    }

    fn kindergarten(&mut self, id: &str, name: &str, departments: &[(&str, &str)]) -> R {
        self.exec(
            "INSERT INTO kindergartens (id, name) VALUES (?1, ?2)",
            params![id, name],
        )?;
        self.touch(EntityKind::Kindergarten, id)?;
        for (d, n) in departments {
            self.exec(
                "INSERT INTO departments (id, kindergarten_id, name) VALUES (?1, ?2, ?3)",
                params![d, id, n],
            )?;
            self.touch(EntityKind::Department, d)?;
        }
        Ok(())
    }

    fn staff_members(&mut self) -> R {
        use demo::*;
        let kg1 = [
            (
                STAFF_ID.to_owned(),
                "Randi Solberg",
                StaffRole::Manager,
                None,
                Some(STAFF_EMAIL),
            ),
            (
                self.id(),
                "Tone Bakke",
                StaffRole::Teacher,
                Some(DEPARTMENT_IDS[0]),
                None,
            ),
            (
                self.id(),
                "Kristin Vik",
                StaffRole::Assistant,
                Some(DEPARTMENT_IDS[0]),
                None,
            ),
            (
                self.id(),
                "Ahmed Rød",
                StaffRole::Assistant,
                Some(DEPARTMENT_IDS[0]),
                None,
            ),
            (
                self.id(),
                "Siri Aas",
                StaffRole::Teacher,
                Some(DEPARTMENT_IDS[1]),
                None,
            ),
            (
                self.id(),
                "Jonas Lie",
                StaffRole::Assistant,
                Some(DEPARTMENT_IDS[1]),
                None,
            ),
            (
                self.id(),
                "Mona Foss",
                StaffRole::Assistant,
                Some(DEPARTMENT_IDS[1]),
                None,
            ),
            (self.id(), "Even Sand", StaffRole::Assistant, None, None),
        ];
        for (i, (id, name, role, dep, email)) in kg1.iter().enumerate() {
            let phone = format!("+479200{:04}", i + 1);
            self.exec(
                "INSERT INTO staff (id, kindergarten_id, department_id, name, role, phone, email) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, KINDERGARTEN_ID, dep, name, enum_str(role), phone, email],
            )?;
            self.touch(EntityKind::Staff, id)?;
        }
        let id = self.id();
        self.exec(
            "INSERT INTO staff (id, kindergarten_id, department_id, name, role, phone, email) VALUES (?1, ?2, '6b0d549b-6f03-475a-9600-a35a099950d8', 'Terje Lie', 'manager', '+4792009999', ?3)",
            params![id, SECOND_KINDERGARTEN_ID, SECOND_STAFF_EMAIL],
        )?;
        self.touch(EntityKind::Staff, &id)
    }

    fn guardian(&mut self, g: &G) -> R {
        self.exec(
            "INSERT INTO guardians (id, kindergarten_id, first_name, last_name, email, phone, address, postal_code, info)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![g.id, g.kg, g.first, g.last, g.email, g.phone, g.address, g.postal, g.info],
        )?;
        self.touch(EntityKind::Guardian, &g.id)
    }

    fn child(&mut self, c: &C) -> R {
        let born = self.now.date_naive() - Duration::days(self.rng.random_range(365..5 * 365));
        self.exec(
            "INSERT INTO children (id, kindergarten_id, department_id, first_name, last_name, birth_date, info)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![c.id, c.kg, c.dep, c.first, c.last, born.format("%Y-%m-%d").to_string(), c.info],
        )?;
        self.touch(EntityKind::Child, &c.id)?;
        for (g, rel) in &c.guardians {
            let id = self.id();
            self.exec(
                "INSERT INTO guardian_children (id, guardian_id, child_id, relation) VALUES (?1, ?2, ?3, ?4)",
                params![id, g, c.id, enum_str(rel)],
            )?;
            self.touch(EntityKind::GuardianChild, &id)?;
        }
        Ok(())
    }

    fn random_guardian(&mut self, n: usize, last: &str) -> G {
        let first = self.pick(ADULT_FIRST).to_owned();
        G {
            id: self.id(),
            kg: demo::KINDERGARTEN_ID.into(),
            email: Some(format!("foresatt{n}@example.org")),
            phone: Some(format!("+479300{n:04}")),
            address: Some(format!("Eksempelveien {}", n + 1)),
            postal: Some("0150".into()),
            info: None,
            first,
            last: last.to_owned(),
        }
    }

    /// Guardians and children; returns the children.
    fn families(&mut self) -> anyhow::Result<Vec<C>> {
        use demo::*;
        let fixed = [
            G::new(
                GUARDIAN_ID,
                KINDERGARTEN_ID,
                "Kari",
                "Nordmann",
                Some(GUARDIAN_EMAIL),
                Some(GUARDIAN_PHONE),
            ),
            G {
                // A mention of the canary guardian in another person's free text: redacted
                // when the canary is erased (see `redaction`).
                info: Some(format!("Henter ofte sammen med {CANARY_GUARDIAN_NAME}")),
                ..G::new(
                    "7f150524-34b9-45df-9e77-69b10f4205b4",
                    KINDERGARTEN_ID,
                    "Ola",
                    "Nordmann",
                    Some("ola.nordmann@example.org"),
                    None,
                )
            },
            G::new(
                SECOND_GUARDIAN_ID,
                KINDERGARTEN_ID,
                "Per",
                "Hansen",
                Some(SECOND_GUARDIAN_EMAIL),
                Some("+4791000002"),
            ),
            G::new(
                "c6f87718-6d76-407e-881e-d162ae2eb154",
                KINDERGARTEN_ID,
                "Lise",
                "Berg",
                Some(TWO_KINDERGARTEN_GUARDIAN_EMAIL),
                None,
            ),
            G::new(
                "ec66a787-95e7-41d1-b731-af10506bf2ef",
                SECOND_KINDERGARTEN_ID,
                "Lise",
                "Berg",
                None,
                Some(TWO_KINDERGARTEN_GUARDIAN_PHONE),
            ),
            G {
                address: Some(CANARY_GUARDIAN_ADDRESS.into()),
                info: Some(CANARY_GUARDIAN_INFO.into()),
                ..G::new(
                    CANARY_GUARDIAN_ID,
                    KINDERGARTEN_ID,
                    CANARY_GUARDIAN_FIRST_NAME,
                    CANARY_GUARDIAN_LAST_NAME,
                    Some(CANARY_GUARDIAN_EMAIL),
                    Some(CANARY_GUARDIAN_PHONE),
                )
            },
        ];
        for g in &fixed {
            self.guardian(g)?;
        }
        let (blue, red) = (DEPARTMENT_IDS[0], DEPARTMENT_IDS[1]);
        let mut children = vec![
            C::new(
                GUARDIAN_CHILD_IDS[0],
                KINDERGARTEN_ID,
                blue,
                "Emma",
                "Nordmann",
                vec![
                    (GUARDIAN_ID, Relation::Mother),
                    (CANARY_GUARDIAN_ID, Relation::Parent),
                ],
            ),
            C::new(
                GUARDIAN_CHILD_IDS[1],
                KINDERGARTEN_ID,
                red,
                "Jakob",
                "Nordmann",
                vec![
                    (GUARDIAN_ID, Relation::Mother),
                    ("7f150524-34b9-45df-9e77-69b10f4205b4", Relation::Father),
                ],
            ),
            C::new(
                SECOND_GUARDIAN_CHILD_ID,
                KINDERGARTEN_ID,
                red,
                "Nora",
                "Hansen",
                vec![(SECOND_GUARDIAN_ID, Relation::Father)],
            ),
            C::new(
                "3f98e277-4cbd-47ad-9c90-a9587403e430",
                KINDERGARTEN_ID,
                blue,
                "Olav",
                "Berg",
                vec![("c6f87718-6d76-407e-881e-d162ae2eb154", Relation::Mother)],
            ),
            C {
                info: Some(CANARY_CHILD_INFO.into()),
                ..C::new(
                    CANARY_CHILD_ID,
                    KINDERGARTEN_ID,
                    blue,
                    CANARY_CHILD_FIRST_NAME,
                    CANARY_CHILD_LAST_NAME,
                    vec![(CANARY_GUARDIAN_ID, Relation::Parent)],
                )
            },
        ];
        let mut n = 0;
        while children.len() < 30 {
            let last = self.pick(LAST).to_owned();
            let first = self.pick(CHILD_FIRST).to_owned();
            let mut gs = Vec::new();
            for rel in [Relation::Mother, Relation::Father] {
                if rel == Relation::Mother || self.rng.random_bool(0.6) {
                    n += 1;
                    let g = self.random_guardian(n, &last);
                    self.guardian(&g)?;
                    gs.push((g.id, rel));
                }
            }
            let dep = if children.len() % 2 == 0 { blue } else { red };
            let mut c = C::new("", KINDERGARTEN_ID, dep, &first, &last, Vec::new());
            c.id = self.id();
            c.owned_guardians = gs;
            children.push(c);
        }
        children.push(C::new(
            "c7a2ea20-b2f1-4c94-ae05-319acb5c7427",
            SECOND_KINDERGARTEN_ID,
            "6b0d549b-6f03-475a-9600-a35a099950d8",
            "Tuva",
            "Berg",
            vec![("ec66a787-95e7-41d1-b731-af10506bf2ef", Relation::Mother)],
        ));
        for c in &mut children {
            let extra = std::mem::take(&mut c.owned_guardians);
            c.guardians.extend(extra);
            self.child(c)?;
        }
        Ok(children)
    }

    /// Log entries for a year of weekdays (always [`LOG_DAYS`] of them, so the random numbers
    /// drawn after them, and so the rest of the demo data, do not depend on the day the seed
    /// runs), consents, pickup persons, attendance, absences.
    fn child_records(&mut self, c: &C) -> R {
        let author = if c.kg == demo::KINDERGARTEN_ID {
            demo::STAFF_ID
        } else {
            ""
        };
        let today = self.now.date_naive();
        let weekdays = (1..)
            .map(|back| today - Duration::days(back))
            .filter(|day| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
            .take(LOG_DAYS);
        for day in weekdays {
            let (kind2, texts2) = if c.dep == demo::DEPARTMENT_IDS[0] {
                (LogKind::Sleep, SLEEP)
            } else {
                (LogKind::Activity, ACTIVITY)
            };
            for (hour, kind, texts) in [(11, LogKind::Meal, MEALS), (13, kind2, texts2)] {
                let id = self.id();
                let text = self.pick(texts).to_owned();
                let at = at_hour(day, hour);
                self.exec(
                    "INSERT INTO log_entries (id, child_id, author_id, kind, text, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, c.id, author, enum_str(&kind), text, at],
                )?;
                self.touch(EntityKind::LogEntry, &id)?;
            }
        }
        self.consents(c)?;
        self.pickup(c)?;
        self.attendance(c)?;
        self.absences(c)
    }

    fn consents(&mut self, c: &C) -> R {
        let Some((by, _)) = c.guardians.first() else {
            return Ok(());
        };
        for kind in [
            ConsentKind::PhotosInternal,
            ConsentKind::PhotosShared,
            ConsentKind::Trips,
            ConsentKind::Transport,
            ConsentKind::Sunscreen,
        ] {
            let id = self.id();
            // The demo's named children share photos (their seeded photos show two families);
            // the draw is made for every child so the rest of the seed stays the same.
            let demo_child = demo::GUARDIAN_CHILD_IDS.contains(&c.id.as_str())
                || c.id == demo::SECOND_GUARDIAN_CHILD_ID
                || c.id == demo::CANARY_CHILD_ID;
            let state =
                if kind == ConsentKind::PhotosShared && self.rng.random_bool(0.3) && !demo_child {
                    ConsentState::Denied
                } else {
                    ConsentState::Granted
                };
            self.exec(
                "INSERT INTO consents (id, child_id, kind, state) VALUES (?1, ?2, ?3, ?4)",
                params![id, c.id, enum_str(&kind), enum_str(&state)],
            )?;
            let at = self.ms(self.days_ago(300));
            self.exec(
                "INSERT INTO consent_history (consent_id, state, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, enum_str(&state), by, at],
            )?;
            self.touch(EntityKind::Consent, &id)?;
        }
        Ok(())
    }

    fn pickup(&mut self, c: &C) -> R {
        let (name, phone, relation) = if c.id == demo::CANARY_CHILD_ID {
            (
                demo::CANARY_PICKUP_NAME.to_owned(),
                "+4799900001".to_owned(),
                "Nabo",
            )
        } else {
            let n: u32 = self.rng.random_range(1000..9999);
            (
                format!("{} {}", self.pick(ADULT_FIRST), c.last),
                format!("+47945{n:05}"),
                "Besteforelder",
            )
        };
        let id = self.id();
        self.exec(
            "INSERT INTO pickup_persons (id, child_id, name, phone, relation) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, c.id, name, phone, relation],
        )?;
        self.touch(EntityKind::PickupPerson, &id)
    }

    fn attendance(&mut self, c: &C) -> R {
        for back in 1..=5 {
            let day = self.now.date_naive() - Duration::days(back);
            let id = self.id();
            self.exec(
                "INSERT INTO attendance (id, child_id, day, checked_in_at, checked_out_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, c.id, day.format("%Y-%m-%d").to_string(), at_hour(day, 8), at_hour(day, 16)],
            )?;
            self.touch(EntityKind::Attendance, &id)?;
        }
        Ok(())
    }

    fn absences(&mut self, c: &C) -> R {
        let Some((by, _)) = c.guardians.first() else {
            return Ok(());
        };
        let back = self.rng.random_range(20..200);
        let first = self.now.date_naive() - Duration::days(back);
        let id = self.id();
        self.exec(
            "INSERT INTO absences (id, child_id, first_day, last_day, reason, note, status, reported_by, acknowledged_by)
             VALUES (?1, ?2, ?3, ?4, 'sick', 'Feber', 'acknowledged', ?5, ?6)",
            params![id, c.id, day_str(first), day_str(first + Duration::days(1)), by, demo::STAFF_ID],
        )?;
        self.touch(EntityKind::Absence, &id)?;
        if self.rng.random_bool(0.3) {
            let id = self.id();
            let start = self.now.date_naive() + Duration::days(40);
            self.exec(
                "INSERT INTO holidays (id, child_id, first_day, last_day, note, registered_by) VALUES (?1, ?2, ?3, ?4, 'Sommerferie', ?5)",
                params![id, c.id, day_str(start), day_str(start + Duration::days(20)), by],
            )?;
            self.touch(EntityKind::Holiday, &id)?;
        }
        Ok(())
    }

    fn thread(
        &mut self,
        id: &str,
        child: Option<&str>,
        dep: Option<&str>,
        starter: Option<&str>,
        subject: &str,
        at: i64,
    ) -> R {
        self.exec(
            "INSERT INTO threads (id, kindergarten_id, department_id, child_id, guardian_id, subject, broadcast, urgent, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
            params![id, demo::KINDERGARTEN_ID, dep, child, starter, subject, child.is_none() && starter.is_none(), at],
        )?;
        self.touch(EntityKind::Thread, id)
    }

    fn message(
        &mut self,
        thread: &str,
        sender: Sender,
        body: &str,
        at: i64,
        read_by: &[&str],
    ) -> R {
        let id = self.id();
        crate::parent::insert_message(self.tx, &id, thread, &sender, body, at)
            .map_err(|e| anyhow::anyhow!("{:?}", e.body))?;
        for g in read_by {
            self.exec("INSERT OR IGNORE INTO message_reads (message_id, guardian_id, read_at) VALUES (?1, ?2, ?3)", params![id, g, at + 3_600_000])?;
        }
        Ok(())
    }

    fn messages(&mut self, children: &[C]) -> R {
        use demo::*;
        let staff = Sender::Staff {
            id: STAFF_ID.into(),
        };
        for month in 0..12 {
            let id = self.id();
            let at = self.ms(self.days_ago(month * 30 + 3));
            let subject = format!("Månedsbrev {}", 12 - month);
            self.thread(&id, None, None, None, &subject, at)?;
            self.message(
                &id,
                staff.clone(),
                "Hei alle sammen! Her kommer månedsbrevet med planene våre.",
                at,
                &[],
            )?;
        }
        for c in children.iter().filter(|c| c.kg == KINDERGARTEN_ID).take(20) {
            let id = self.id();
            let at = self.ms(self.days_ago(10));
            let Some((g, _)) = c.guardians.first() else {
                continue;
            };
            self.thread(&id, Some(&c.id), None, Some(g), "Henting i dag", at)?;
            self.message(
                &id,
                Sender::Guardian {
                    id: g.clone().into(),
                },
                "Hei! Bestemor henter i dag.",
                at,
                &[],
            )?;
            self.message(&id, staff.clone(), "Takk for beskjed!", at + 600_000, &[g])?;
        }
        let at = self.ms(self.days_ago(2));
        self.thread(
            CANARY_THREAD_ID,
            Some(GUARDIAN_CHILD_IDS[0]),
            None,
            Some(CANARY_GUARDIAN_ID),
            "Hilsen fra Canaryguardian Wqx",
            at,
        )?;
        let body = format!("Hei, dette er {CANARY_GUARDIAN_NAME}. Emma blir hentet av meg i dag.");
        self.message(
            CANARY_THREAD_ID,
            Sender::Guardian {
                id: CANARY_GUARDIAN_ID.into(),
            },
            &body,
            at,
            &[],
        )?;
        self.message(CANARY_THREAD_ID, staff, "Den er grei!", at + 600_000, &[])
    }

    fn calendar(&mut self) -> R {
        let events = [
            ("Foreldremøte", None, -30),
            ("Sommerfest", None, 20),
            ("Juleavslutning", None, 60),
            ("Tur til skogen", Some(demo::DEPARTMENT_IDS[0]), 3),
            ("Besøk på biblioteket", Some(demo::DEPARTMENT_IDS[1]), 7),
            ("Planleggingsdag (stengt)", None, 14),
        ];
        for (title, dep, days) in events {
            let id = self.id();
            let start = self.now + Duration::days(days);
            self.exec(
                "INSERT INTO calendar_events (id, kindergarten_id, department_id, title, description, starts_at, ends_at)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6)",
                params![id, demo::KINDERGARTEN_ID, dep, title, self.ms(start), self.ms(start + Duration::hours(2))],
            )?;
            self.touch(EntityKind::CalendarEvent, &id)?;
        }
        Ok(())
    }

    fn file(&mut self, bytes: &[u8]) -> anyhow::Result<String> {
        let mut b = [0u8; 16];
        self.rng.fill(&mut b);
        let name = hex::encode(b);
        std::fs::write(self.files_dir.join(&name), bytes)?;
        Ok(name)
    }

    fn photo(&mut self, id: &str, children: &[&str], caption: &str) -> R {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
        bytes.extend((0..2048).map(|_| self.rng.random::<u8>()));
        bytes.extend([0xFF, 0xD9]);
        let file = self.file(&bytes)?;
        let at = self.ms(self.days_ago(4));
        self.exec(
            "INSERT INTO photos (id, kindergarten_id, caption, taken_at, size_bytes, mime_type, file_name) VALUES (?1, ?2, ?3, ?4, ?5, 'image/jpeg', ?6)",
            params![id, demo::KINDERGARTEN_ID, caption, at, bytes.len() as i64, file],
        )?;
        for c in children {
            self.exec(
                "INSERT INTO photo_children (photo_id, child_id) VALUES (?1, ?2)",
                params![id, c],
            )?;
        }
        self.touch(EntityKind::Photo, id)
    }

    fn document(&mut self, id: &str, child: Option<&str>, title: &str) -> R {
        let body = format!(
            "%PDF-1.4\n% demo document\n1 0 obj << /Title ({}) >> endobj\n%%EOF\n",
            id
        );
        let file = self.file(body.as_bytes())?;
        let at = self.ms(self.days_ago(20));
        self.exec(
            "INSERT INTO documents (id, kindergarten_id, child_id, title, mime_type, size_bytes, file_name, created_at)
             VALUES (?1, ?2, ?3, ?4, 'application/pdf', ?5, ?6, ?7)",
            params![id, demo::KINDERGARTEN_ID, child, title, body.len() as i64, file, at],
        )?;
        self.touch(EntityKind::Document, id)
    }

    fn media(&mut self) -> R {
        use demo::*;
        self.photo(
            SHARED_PHOTO_ID,
            &[GUARDIAN_CHILD_IDS[0], CANARY_CHILD_ID],
            "Lek i snøen",
        )?;
        self.photo(CANARY_PHOTO_ID, &[CANARY_CHILD_ID], "Tegning")?;
        self.photo(
            "4cdd2055-930d-4eaf-94f4-733f3e7d1bfb",
            &[GUARDIAN_CHILD_IDS[0]],
            "Bursdag",
        )?;
        self.photo(
            "57ee05cd-e009-42c7-bebf-f20686734721",
            &[GUARDIAN_CHILD_IDS[1], SECOND_GUARDIAN_CHILD_ID],
            "Tur til skogen",
        )?;
        self.photo(
            "9be4bcfc-49b6-4a08-b2e6-cc3ababced20",
            &[SECOND_GUARDIAN_CHILD_ID],
            "Maling",
        )?;
        self.document("830e07bc-1e39-4f10-92bd-4acefaecbd38", None, "Årsplan")?;
        self.document(
            "5790f82e-c1d3-4cff-aa3a-f4d46b0a18e8",
            Some(GUARDIAN_CHILD_IDS[0]),
            "Utviklingssamtale Emma",
        )?;
        self.document(
            CANARY_DOCUMENT_ID,
            Some(CANARY_CHILD_ID),
            "Utviklingssamtale Canaryx Qzv",
        )
    }
}

fn at_hour(day: NaiveDate, hour: u32) -> i64 {
    day.and_hms_opt(hour, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

fn day_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A seed guardian.
struct G {
    id: String,
    kg: String,
    first: String,
    last: String,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    postal: Option<String>,
    info: Option<String>,
}

impl G {
    fn new(
        id: &str,
        kg: &str,
        first: &str,
        last: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Self {
        Self {
            id: id.into(),
            kg: kg.into(),
            first: first.into(),
            last: last.into(),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            address: Some("Storgata 1".into()),
            postal: Some("0155".into()),
            info: None,
        }
    }
}

/// A seed child with its guardians.
struct C {
    id: String,
    kg: String,
    dep: String,
    first: String,
    last: String,
    info: Option<String>,
    guardians: Vec<(String, Relation)>,
    owned_guardians: Vec<(String, Relation)>,
}

impl C {
    fn new(
        id: &str,
        kg: &str,
        dep: &str,
        first: &str,
        last: &str,
        guardians: Vec<(&str, Relation)>,
    ) -> Self {
        Self {
            id: id.into(),
            kg: kg.into(),
            dep: dep.into(),
            first: first.into(),
            last: last.into(),
            info: None,
            guardians: guardians
                .into_iter()
                .map(|(g, r)| (g.to_owned(), r))
                .collect(),
            owned_guardians: Vec::new(),
        }
    }
}
