-- 0001: the initial schema.
-- Timestamps are ISO-8601 UTC text written by the application (datetime.isoformat, "+00:00"),
-- so that they sort as text. JSON columns hold text that json_valid() accepts.

CREATE TABLE units (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    level             TEXT    NOT NULL CHECK (level IN ('cap-huyen', 'cap-tinh')),
    supervisor_id     INTEGER REFERENCES units (id) ON DELETE SET NULL,
    parent_agency     TEXT,
    supervising_name  TEXT,
    address           TEXT,
    phone             TEXT,
    email             TEXT,
    member_count      INTEGER CHECK (member_count IS NULL
                                     OR (typeof(member_count) = 'integer' AND member_count >= 0)),
    place_name        TEXT,
    doc_symbol        TEXT,
    signer_authority  TEXT,
    signer_title      TEXT,
    signer_name       TEXT,
    created_at        TEXT    NOT NULL
);
CREATE INDEX units_by_supervisor ON units (supervisor_id);

CREATE TABLE people (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel          TEXT NOT NULL,
    channel_user_id  TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (channel, channel_user_id)
);

CREATE TABLE memberships (
    unit_id     INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('staff', 'leader', 'supervisor')),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (unit_id, person_id)
);
CREATE INDEX memberships_by_person ON memberships (person_id);

CREATE TABLE invites (
    code        TEXT    PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('staff', 'leader', 'supervisor')),
    created_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    expires_at  TEXT,
    revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    created_at  TEXT    NOT NULL
);
CREATE INDEX invites_by_unit ON invites (unit_id);

CREATE TABLE assessments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id       INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    framework_id  TEXT    NOT NULL,
    year          INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'submitted', 'approved', 'returned')),
    cursor        TEXT,
    submitted_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    submitted_at  TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (unit_id, framework_id, year)
);
CREATE INDEX assessments_by_unit_updated ON assessments (unit_id, updated_at DESC, id DESC);

CREATE TABLE answers (
    assessment_id  INTEGER NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    code           TEXT    NOT NULL,
    value          TEXT,
    evidence       TEXT    NOT NULL DEFAULT '',
    answered_by    INTEGER REFERENCES people (id) ON DELETE SET NULL,
    answered_at    TEXT,
    PRIMARY KEY (assessment_id, code)
);

CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    assessment_id  INTEGER NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    code           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    file_ref       TEXT    NOT NULL,
    file_name      TEXT,
    mime_type      TEXT,
    size           INTEGER CHECK (size IS NULL OR size >= 0),
    uploaded_by    INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at     TEXT    NOT NULL
);
CREATE INDEX attachments_by_assessment ON attachments (assessment_id, code);

CREATE TABLE narratives (
    assessment_id  INTEGER NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    section        TEXT    NOT NULL,
    text           TEXT    NOT NULL,
    is_draft       INTEGER NOT NULL CHECK (is_draft IN (0, 1)),
    updated_by     INTEGER REFERENCES people (id) ON DELETE SET NULL,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (assessment_id, section)
);

CREATE TABLE chats (
    channel     TEXT    NOT NULL,
    chat_id     TEXT    NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    mode        TEXT    NOT NULL,
    data        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    nonce       TEXT    NOT NULL DEFAULT '',
    unit_id     INTEGER REFERENCES units (id) ON DELETE SET NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (channel, chat_id)
);

CREATE TABLE processed_updates (
    channel       TEXT NOT NULL,
    update_id     TEXT NOT NULL,
    processed_at  TEXT NOT NULL,
    PRIMARY KEY (channel, update_id)
);

-- The event log: append-only. No foreign keys, so that it outlives what it describes.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    person_id      INTEGER,
    unit_id        INTEGER,
    assessment_id  INTEGER,
    data           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX events_by_assessment ON events (assessment_id, id);
CREATE INDEX events_by_unit ON events (unit_id, id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed');
END;
