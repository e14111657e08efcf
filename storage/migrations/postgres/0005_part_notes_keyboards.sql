-- 0005, for PostgreSQL: as ../0005_part_notes_keyboards.sql (a chỉ tiêu's note that its total is
-- a part of the members; the message carrying a chat's live buttons).
CREATE TABLE part_notes (
    assessment_id BIGINT NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    code          TEXT   NOT NULL,
    note          TEXT   NOT NULL,
    updated_by    BIGINT REFERENCES people (id) ON DELETE SET NULL,
    updated_at    TEXT   NOT NULL,
    PRIMARY KEY (assessment_id, code)
);

CREATE TABLE live_keyboards (
    channel    TEXT   NOT NULL,
    chat_id    TEXT   NOT NULL,
    message_id BIGINT NOT NULL,
    updated_at TEXT   NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
