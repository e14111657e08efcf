-- Leaders, supervising units, reminders, prefill and the outbox (issue: units, roles, leaders).

-- A supervising unit (Phòng/Sở GD&ĐT, UBND) sees the units whose supervisor_id points to it.
ALTER TABLE units ADD COLUMN supervises INTEGER NOT NULL DEFAULT 0 CHECK (supervises IN (0, 1));
ALTER TABLE units ADD COLUMN reminders_muted INTEGER NOT NULL DEFAULT 0
    CHECK (reminders_muted IN (0, 1));

-- A leader's decision on a submitted assessment: approved, or returned with a comment.
ALTER TABLE assessments ADD COLUMN decided_by INTEGER REFERENCES people (id) ON DELETE SET NULL;
ALTER TABLE assessments ADD COLUMN decided_at TEXT;
ALTER TABLE assessments ADD COLUMN return_comment TEXT;
-- Fixed at submission: the unit's own date (Vietnam) and the mức độ it asks (Thông tư 24/2023),
-- so the result does not change when it is shown later, to a leader or to the supervisors.
ALTER TABLE assessments ADD COLUMN submitted_on TEXT;
ALTER TABLE assessments ADD COLUMN level INTEGER CHECK (level IS NULL OR level >= 1);

-- Last year's answer, offered (not given) when a new year's assessment starts from it.
ALTER TABLE answers ADD COLUMN prefill TEXT;
ALTER TABLE answers ADD COLUMN prefill_evidence TEXT;

-- Invites gain the role 'unit': a supervising unit invites a unit to place itself under it.
CREATE TABLE invites_new (
    code        TEXT    PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('staff', 'leader', 'supervisor', 'unit')),
    created_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    expires_at  TEXT,
    revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    created_at  TEXT    NOT NULL
);
INSERT INTO invites_new (code, unit_id, role, created_by, expires_at, revoked, created_at)
    SELECT code, unit_id, role, created_by, expires_at, revoked, created_at FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
CREATE INDEX invites_by_unit ON invites (unit_id);

-- Messages to people other than the one whose event caused them (a leader, the supervising
-- unit), written in the same transaction as the change and sent afterwards with retries.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id        INTEGER REFERENCES people (id) ON DELETE CASCADE,
    channel          TEXT    NOT NULL,
    chat_id          TEXT    NOT NULL,
    payload          TEXT    NOT NULL CHECK (json_valid(payload)),
    created_at       TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT    NOT NULL,
    sent_at          TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE sent_at IS NULL;

-- When a unit was last reminded of an unfinished assessment of a year.
CREATE TABLE reminders (
    unit_id       INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    year          INTEGER NOT NULL,
    last_sent_at  TEXT    NOT NULL,
    sent_count    INTEGER NOT NULL DEFAULT 1 CHECK (sent_count >= 1),
    PRIMARY KEY (unit_id, year)
);
