-- Issue 16. A note on a chỉ tiêu whose total is only a part of the unit's members ("20 cán
-- bộ, công chức" beside 32 members), asked once when two totals differ and printed with the
-- figure in the report. An empty note: asked, and the unit said no note is needed.
CREATE TABLE part_notes (
    assessment_id INTEGER NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    code          TEXT    NOT NULL,
    note          TEXT    NOT NULL,
    updated_by    INTEGER REFERENCES people (id) ON DELETE SET NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (assessment_id, code)
);

-- The channel message that carries a chat's live buttons (Telegram), so that after a restart
-- the next question still takes the buttons off the last one instead of leaving them live.
CREATE TABLE live_keyboards (
    channel    TEXT    NOT NULL,
    chat_id    TEXT    NOT NULL,
    message_id INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
