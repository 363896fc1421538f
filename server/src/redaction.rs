//! What an erasure leaves of the person in free text kept in other people's records: nothing.
//!
//! Before the erasure, [`Mentions::of`] collects what names the person; after it, [`redact`]
//! replaces every mention left in the free-text fields of the remaining records of the
//! person's kindergarten(s), in the queued sends and provider outboxes and in stored command
//! answers, with [`PLACEHOLDER`], and re-stamps each changed entity so devices get the
//! redacted text. A pickup person entry that names the person is removed instead (it is a
//! record about them, useless once blanked).
//!
//! What is matched, case-insensitively and only as whole words (not inside a longer word:
//! erasing "Ida" leaves "Idar" and "Florida" alone):
//! - the full name (first and last name, any whitespace between them), always;
//! - each word of the first and of the last name alone, unless a remaining child, guardian or
//!   staff member of the same kindergarten bears that word in their own name (a sibling's
//!   shared last name, another child called the same: a mention may be theirs, and redacting
//!   it would damage their records);
//! - the e-mail address and the phone number (its last 8 digits, with or without spaces, dots
//!   or dashes between them, with or without a country prefix);
//! - the street address (the part before the first comma); when it ends in a house number, the
//!   street name followed by any house number ("Storgata 5B"), so that the address from before
//!   a rectification goes too, while the street named alone ("tur i Storgata") stays.

use crate::entities;
use crate::error::AppResult;
use crate::feed;
use kidplan_api::staff::Person;
use kidplan_api::sync::EntityKind;
use regex::Regex;
use rusqlite::types::Value;
use rusqlite::{Connection, params};

/// What replaces a mention.
pub const PLACEHOLDER: &str = "[…]";

/// A free-text field: a table's text columns, its entity kind (None: not in the feed), and
/// which rows belong to a kindergarten (?1); None scans the whole table.
struct Field {
    kind: Option<EntityKind>,
    table: &'static str,
    key: &'static str,
    columns: &'static [&'static str],
    scope: Option<&'static str>,
}

const BY_CHILD: &str = "child_id IN (SELECT id FROM children WHERE kindergarten_id = ?1)";

const FIELDS: &[Field] = &[
    Field {
        kind: Some(EntityKind::LogEntry),
        table: "log_entries",
        key: "id",
        columns: &["text"],
        scope: Some(BY_CHILD),
    },
    Field {
        kind: Some(EntityKind::Thread),
        table: "threads",
        key: "id",
        columns: &["subject"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::Message),
        table: "messages",
        key: "id",
        columns: &["body"],
        scope: Some("thread_id IN (SELECT id FROM threads WHERE kindergarten_id = ?1)"),
    },
    Field {
        kind: Some(EntityKind::Absence),
        table: "absences",
        key: "id",
        columns: &["note"],
        scope: Some(BY_CHILD),
    },
    Field {
        kind: Some(EntityKind::Holiday),
        table: "holidays",
        key: "id",
        columns: &["note"],
        scope: Some(BY_CHILD),
    },
    Field {
        kind: Some(EntityKind::CalendarEvent),
        table: "calendar_events",
        key: "id",
        columns: &["title", "description"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::Document),
        table: "documents",
        key: "id",
        columns: &["title"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::Photo),
        table: "photos",
        key: "id",
        columns: &["caption"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::Child),
        table: "children",
        key: "id",
        columns: &["info"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::Guardian),
        table: "guardians",
        key: "id",
        columns: &["info"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::Staff),
        table: "staff",
        key: "id",
        columns: &["info"],
        scope: Some("kindergarten_id = ?1"),
    },
    Field {
        kind: Some(EntityKind::PrivacyRequest),
        table: "privacy_requests",
        key: "id",
        columns: &["note", "response", "objection", "child_info"],
        scope: Some("guardian_id IN (SELECT id FROM guardians WHERE kindergarten_id = ?1)"),
    },
    Field {
        kind: None,
        table: "send_queue",
        key: "id",
        columns: &["recipient", "subject", "body", "hint"],
        scope: None,
    },
    Field {
        kind: None,
        table: "mail_outbox",
        key: "id",
        columns: &["recipient", "body"],
        scope: None,
    },
    Field {
        kind: None,
        table: "idempotency",
        key: "rowid",
        columns: &["body"],
        scope: None,
    },
];

/// What names a person, read before their erasure.
pub struct Mentions {
    kindergartens: Vec<String>,
    /// Words of the name, each matched alone unless someone remaining bears it.
    words: Vec<String>,
    /// Patterns always matched (regex syntax, already escaped).
    always: Vec<String>,
}

impl Mentions {
    /// Reads the person's name and contacts (call before erasing them).
    pub fn of(conn: &Connection, person: &Person) -> AppResult<Self> {
        let (sql, id) = match person {
            Person::Child(id) => (
                "SELECT first_name, last_name, NULL, NULL, NULL FROM children WHERE id = ?1",
                id.as_str(),
            ),
            Person::Guardian(id) => (
                "SELECT first_name, last_name, email, phone, address FROM guardians WHERE id = ?1",
                id.as_str(),
            ),
            Person::Staff(id) => (
                "SELECT name, '', email, phone, NULL FROM staff WHERE id = ?1",
                id.as_str(),
            ),
        };
        let row = crate::db::opt(conn.query_row(sql, [id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        }))?;
        let mut m = Self {
            kindergartens: crate::erasure::person_kindergartens(conn, person)?,
            words: Vec::new(),
            always: Vec::new(),
        };
        let Some((first, last, email, phone, address)) = row else {
            return Ok(m);
        };
        let full = format!("{first} {last}");
        m.always.push(phrase(&full));
        m.words = full.split_whitespace().map(str::to_owned).collect();
        if let Some(e) = email.filter(|e| !e.trim().is_empty()) {
            m.always.push(regex::escape(e.trim()));
        }
        if let Some(p) = phone.and_then(|p| phone_pattern(&p)) {
            m.always.push(p);
        }
        if let Some(p) = address.as_deref().and_then(street_pattern) {
            m.always.push(p);
        }
        Ok(m)
    }
}

/// A phrase of words, any whitespace between them.
fn phrase(text: &str) -> String {
    text.split_whitespace()
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s+")
}

/// The street address (before the first comma); with a house number, the street name with any
/// house number (an address from before a rectification is found too); None when too short.
fn street_pattern(address: &str) -> Option<String> {
    let street = address.split(',').next()?.trim();
    if street.chars().count() < 4 {
        return None;
    }
    let words: Vec<&str> = street.split_whitespace().collect();
    match words.split_last() {
        Some((last, name))
            if !name.is_empty() && last.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            Some(format!(r"{}\s+\d+\p{{L}}?", phrase(&name.join(" "))))
        }
        _ => Some(phrase(street)),
    }
}

/// A phone number by its last 8 digits, separators allowed between them, with an optional
/// country prefix; None for fewer than 8 digits.
fn phone_pattern(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail = digits.get(digits.len().checked_sub(8)?..)?;
    let body = tail
        .iter()
        .map(char::to_string)
        .collect::<Vec<_>>()
        .join(r"[\s.\-]?");
    Some(format!(r"(?:(?:\+|00)\d{{1,3}}[\s\-]?)?{body}"))
}

/// True when a remaining person of the kindergarten bears `word` in their name.
fn borne_by_others(conn: &Connection, kindergarten: &str, word: &str) -> AppResult<bool> {
    let names = entities::strings(
        conn,
        "SELECT first_name || ' ' || last_name FROM children WHERE kindergarten_id = ?1
         UNION ALL SELECT first_name || ' ' || last_name FROM guardians WHERE kindergarten_id = ?1
         UNION ALL SELECT name FROM staff WHERE kindergarten_id = ?1",
        kindergarten,
    )?;
    let word = word.to_lowercase();
    Ok(names
        .iter()
        .any(|n| n.split_whitespace().any(|w| w.to_lowercase() == word)))
}

/// Replaces every whole-word match of `re` in `text`; None when nothing matched.
fn replace_words(re: &Regex, text: &str) -> Option<String> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    while let Some(m) = re.find_at(text, pos) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let whole =
            !m.as_str().is_empty() && !before.is_some_and(is_word) && !after.is_some_and(is_word);
        if whole {
            out.push_str(&text[copied..m.start()]);
            out.push_str(PLACEHOLDER);
            copied = m.end();
            pos = m.end();
        } else {
            // Try again one character later (a whole-word match may overlap this one).
            pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
        if pos > text.len() {
            break;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Redacts the mentions of an erased person (call after erasing them, in the same
/// transaction); returns how many rows changed.
pub fn redact(conn: &Connection, m: &Mentions) -> AppResult<u64> {
    let mut changed = 0;
    for kg in &m.kindergartens {
        let mut patterns = m.always.clone();
        for w in &m.words {
            if !borne_by_others(conn, kg, w)? {
                patterns.push(regex::escape(w));
            }
        }
        if patterns.is_empty() {
            continue;
        }
        // Longest first: a full name is one mention, not two.
        patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let re = Regex::new(&format!("(?i)(?:{})", patterns.join("|")))
            // The pattern names the person: the error must not carry it.
            .map_err(|_| crate::error::AppError::internal(&"redaction pattern"))?;
        changed += pickup_persons(conn, &re, kg)?;
        for f in FIELDS {
            changed += field(conn, &re, f, kg)?;
        }
    }
    Ok(changed)
}

/// Pickup persons of the kindergarten's children who are the person: removed.
fn pickup_persons(conn: &Connection, re: &Regex, kg: &str) -> AppResult<u64> {
    let rows: Vec<(String, String, Option<String>)> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT id, name, phone FROM pickup_persons WHERE {BY_CHILD}"
        ))?;
        let rows = stmt.query_map([kg], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (id, name, phone) in rows {
        let named = replace_words(re, &name).is_some()
            || phone
                .as_deref()
                .and_then(|p| replace_words(re, p))
                .is_some();
        if named {
            feed::remove(conn, EntityKind::PickupPerson, &id)?;
            n += conn.execute("DELETE FROM pickup_persons WHERE id = ?1", [&id])? as u64;
        }
    }
    Ok(n)
}

/// Redacts one field's rows; re-stamps changed entities.
fn field(conn: &Connection, re: &Regex, f: &Field, kg: &str) -> AppResult<u64> {
    let cols = f.columns.join(", ");
    let filter = f.scope.unwrap_or("?1 IS NOT NULL");
    let rows: Vec<(Value, Vec<Option<String>>)> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT {}, {cols} FROM {} WHERE {filter}",
            f.key, f.table
        ))?;
        let rows = stmt.query_map([kg], |r| {
            let mut vals = Vec::with_capacity(f.columns.len());
            for i in 0..f.columns.len() {
                vals.push(r.get::<_, Option<String>>(i + 1)?);
            }
            Ok((r.get::<_, Value>(0)?, vals))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (key, vals) in rows {
        let mut touched = false;
        for (col, val) in f.columns.iter().zip(vals) {
            let Some(new) = val.as_deref().and_then(|v| replace_words(re, v)) else {
                continue;
            };
            conn.execute(
                &format!("UPDATE {} SET {col} = ?1 WHERE {} = ?2", f.table, f.key),
                params![new, &key],
            )?;
            touched = true;
        }
        if touched {
            n += 1;
            if let (Some(kind), Value::Text(id)) = (f.kind, &key) {
                feed::touch(conn, kind, id)?;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(patterns: &[&str]) -> Regex {
        Regex::new(&format!("(?i)(?:{})", patterns.join("|"))).expect("regex")
    }

    #[test]
    fn whole_words_only_case_insensitive() {
        let r = re(&[&phrase("Ida Berg"), "Ida"]);
        assert_eq!(
            replace_words(&r, "ida lekte med IDA BERG og Idar i Florida").as_deref(),
            Some("[…] lekte med […] og Idar i Florida")
        );
        assert_eq!(replace_words(&r, "Idar og Florida"), None);
        assert_eq!(replace_words(&r, "Ida_x"), None);
        assert_eq!(replace_words(&r, "(Ida)").as_deref(), Some("([…])"));
        let r = re(&["Åse"]);
        assert_eq!(
            replace_words(&r, "ÅSE og Åsen").as_deref(),
            Some("[…] og Åsen")
        );
    }

    #[test]
    fn phones_with_and_without_separators() {
        let r = re(&[&phone_pattern("+4799912345").expect("phone")]);
        for (text, want) in [
            ("ring +4799912345", "ring […]"),
            ("ring 999 12 345", "ring […]"),
            ("ring 0047 99912345.", "ring […]."),
            ("ring 99912345", "ring […]"),
        ] {
            assert_eq!(replace_words(&r, text).as_deref(), Some(want), "{text}");
        }
        assert_eq!(
            replace_words(&r, "konto 1299912345"),
            None,
            "inside a longer number"
        );
        assert_eq!(phone_pattern("12345"), None);
    }

    #[test]
    fn street_with_any_house_number() {
        let r = re(&[&street_pattern("Storgata 7, 0150 Oslo").expect("street")]);
        assert_eq!(
            replace_words(&r, "bor i storgata 5B, tur i Storgata").as_deref(),
            Some("bor i […], tur i Storgata")
        );
        let r = re(&[&street_pattern("Lia gård").expect("street")]);
        assert_eq!(replace_words(&r, "på Lia gård").as_deref(), Some("på […]"));
    }
}
