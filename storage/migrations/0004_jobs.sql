-- Heavy work after the commit (issue: a turn only decides and records).
-- A job is written in the same transaction as the decision that causes it (a submission, a
-- /tonghop, the hourly reminder pass) and run afterwards, off the event loop, by a worker of a
-- process that runs the job's channel (NULL: any process). Its result reaches people through
-- the outbox. A job whose process died is run again: its lease runs out, or the next process
-- that takes the channel sets it back at start.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    channel      TEXT,
    payload      TEXT    NOT NULL CHECK (json_valid(payload)),
    dedup_key    TEXT    UNIQUE,
    state        TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    run_after    TEXT    NOT NULL,
    claimed_by   TEXT,
    lease_until  TEXT,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT,
    last_error   TEXT
);
CREATE INDEX jobs_due ON jobs (state, run_after, id);

-- Outbox rows are taken only by a process that runs their channel.
CREATE INDEX outbox_pending_by_channel ON outbox (channel, next_attempt_at, id)
    WHERE sent_at IS NULL;
