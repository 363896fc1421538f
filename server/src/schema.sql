-- Kidplan server schema, version 1. Times are milliseconds since the epoch (UTC), days are
-- 'YYYY-MM-DD'. Ids are random strings. No soft delete anywhere.

CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta (key, value) VALUES ('seq', 0);

CREATE TABLE kindergartens (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    name TEXT NOT NULL
);
CREATE TABLE children (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    department_id TEXT NOT NULL REFERENCES departments(id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    info TEXT
);
CREATE TABLE guardians (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    address TEXT,
    postal_code TEXT
);
CREATE INDEX guardians_email ON guardians(email);
CREATE INDEX guardians_phone ON guardians(phone);
CREATE TABLE guardian_children (
    id TEXT PRIMARY KEY,
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    child_id TEXT NOT NULL REFERENCES children(id),
    relation TEXT NOT NULL,
    UNIQUE (guardian_id, child_id)
);
CREATE INDEX guardian_children_child ON guardian_children(child_id);
CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    department_id TEXT REFERENCES departments(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    phone TEXT,
    email TEXT
);
CREATE TABLE log_entries (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES children(id),
    author_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX log_entries_child ON log_entries(child_id);
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    department_id TEXT REFERENCES departments(id),
    child_id TEXT REFERENCES children(id),
    guardian_id TEXT REFERENCES guardians(id),
    subject TEXT NOT NULL,
    broadcast INTEGER NOT NULL,
    urgent INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads(id),
    sender_kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL
);
CREATE INDEX messages_thread ON messages(thread_id);
CREATE TABLE message_reads (
    message_id TEXT NOT NULL REFERENCES messages(id),
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    read_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, guardian_id)
);
CREATE INDEX message_reads_guardian ON message_reads(guardian_id);
CREATE TABLE absences (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES children(id),
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT,
    status TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    acknowledged_by TEXT
);
CREATE INDEX absences_child ON absences(child_id);
CREATE TABLE holidays (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES children(id),
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    note TEXT,
    registered_by TEXT NOT NULL
);
CREATE INDEX holidays_child ON holidays(child_id);
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES children(id),
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    UNIQUE (child_id, kind)
);
CREATE TABLE consent_history (
    id INTEGER PRIMARY KEY,
    consent_id TEXT NOT NULL REFERENCES consents(id),
    state TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX consent_history_consent ON consent_history(consent_id);
CREATE TABLE calendar_events (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    department_id TEXT REFERENCES departments(id),
    title TEXT NOT NULL,
    description TEXT,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL
);
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    child_id TEXT REFERENCES children(id),
    title TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE photos (
    id TEXT PRIMARY KEY,
    kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
    caption TEXT,
    taken_at INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    file_name TEXT NOT NULL
);
CREATE TABLE photo_children (
    photo_id TEXT NOT NULL REFERENCES photos(id),
    child_id TEXT NOT NULL REFERENCES children(id),
    PRIMARY KEY (photo_id, child_id)
);
CREATE INDEX photo_children_child ON photo_children(child_id);
CREATE TABLE attendance (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES children(id),
    day TEXT NOT NULL,
    checked_in_at INTEGER,
    checked_out_at INTEGER,
    UNIQUE (child_id, day)
);
CREATE TABLE pickup_persons (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES children(id),
    name TEXT NOT NULL,
    phone TEXT,
    relation TEXT NOT NULL
);
CREATE TABLE notification_prefs (
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    child_id TEXT NOT NULL REFERENCES children(id),
    category TEXT NOT NULL,
    delivery TEXT NOT NULL,
    PRIMARY KEY (guardian_id, child_id, category)
);
CREATE TABLE privacy_requests (
    id TEXT PRIMARY KEY,
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    right TEXT NOT NULL,
    note TEXT,
    status TEXT NOT NULL,
    response TEXT,
    created_at INTEGER NOT NULL,
    handled_at INTEGER
);

-- The sync feed: one row per entity with its latest sequence number and the ids that decide
-- who sees it. Entity data is rendered per viewer at read time; tombstones carry no data.
CREATE TABLE changes (
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE,
    op TEXT NOT NULL,
    kindergarten_id TEXT,
    department_id TEXT,
    child_id TEXT,
    guardian_id TEXT,
    PRIMARY KEY (entity, entity_id)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    person_id TEXT NOT NULL,
    kindergarten_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);
CREATE TABLE access_tokens (
    hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE TABLE refresh_tokens (
    hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    used INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE login_codes (
    id INTEGER PRIMARY KEY,
    contact_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    person_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    tries INTEGER NOT NULL
);
CREATE INDEX login_codes_contact ON login_codes(contact_hash);
CREATE TABLE rate_events (id INTEGER PRIMARY KEY, bucket TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX rate_events_bucket ON rate_events(bucket, at);
CREATE TABLE idempotency (
    guardian_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    child_id TEXT,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (guardian_id, key)
);
CREATE INDEX idempotency_child ON idempotency(child_id);

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE push_registrations (
    id TEXT PRIMARY KEY,
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    provider TEXT NOT NULL,
    token TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX push_registrations_guardian ON push_registrations(guardian_id);
CREATE TABLE push_outbox (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    token TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Client IPs for abuse detection, purged after 14 days. person_id is usage data: erasure
-- anonymises it.
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    ip TEXT,
    person_id TEXT,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX access_log_at ON access_log(at);

-- Anonymous telemetry: daily counters only, no raw report, no IP.
CREATE TABLE telemetry_counters (
    day TEXT NOT NULL,
    platform TEXT NOT NULL,
    metric TEXT NOT NULL,
    bucket TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, platform, metric, bucket)
);
CREATE TABLE telemetry_days (day TEXT PRIMARY KEY, reports INTEGER NOT NULL);
