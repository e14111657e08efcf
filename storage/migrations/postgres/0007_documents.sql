-- Generated documents kept in the database, as in ../0007_documents.sql.
CREATE TABLE documents (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    data        BYTEA   NOT NULL,
    size        BIGINT  NOT NULL CHECK (size >= 0),
    created_at  TEXT    NOT NULL
);
