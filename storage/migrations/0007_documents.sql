-- Generated documents (reports, workbooks) kept in the database, so that any process that runs
-- a channel can send or serve one, whichever process rendered it. The id is random (it is also
-- the key of a download link), never a counter.
CREATE TABLE documents (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    created_at  TEXT    NOT NULL
);
