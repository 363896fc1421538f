-- Every e-mail, SMS and push waits here until its provider took it (then the row is deleted).
-- A push row holds the registration id, never the token; e-mail/SMS rows hold the recipient and
-- the text, blanked when the row is given up ('dead'); dead rows are deleted after 7 days.
CREATE TABLE send_queue (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    kindergarten_id TEXT,
    person_id TEXT,
    recipient TEXT,
    registration_id TEXT,
    subject TEXT,
    body TEXT,
    push_kind TEXT,
    hint TEXT,
    alert INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    claimed_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX send_queue_due ON send_queue(state, next_at);
CREATE INDEX send_queue_person ON send_queue(person_id);
CREATE INDEX send_queue_registration ON send_queue(registration_id);

-- A guardian's reminder settings per kind ('calendar_event', 'holiday_deadline').
CREATE TABLE reminder_settings (
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    kind TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    at TEXT NOT NULL,
    days_before INTEGER NOT NULL,
    PRIMARY KEY (guardian_id, kind)
);

-- Reminders already sent: the same reminder never goes out twice.
CREATE TABLE reminders_sent (
    guardian_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    event_id TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (guardian_id, kind, event_id)
);
CREATE INDEX reminders_sent_event ON reminders_sent(event_id);

ALTER TABLE calendar_events ADD COLUMN registration_deadline TEXT;
-- 'nb', 'nn' or 'en' when known: the language of e-mail/SMS notices (default nb).
ALTER TABLE guardians ADD COLUMN locale TEXT;
