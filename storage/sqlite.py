"""The repository on SQLite (sqlite3): one connection, WAL, group commit, transactions serialised.

Every transaction is `BEGIN IMMEDIATE`: it takes the write lock at once, so two processes on one
file wait for each other (busy_timeout) instead of failing half-way. Timestamps are stored as
ISO-8601 UTC text with microseconds (they sort as text) and returned as aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from storage.base import (
    EDITABLE,
    UNIT_DETAIL_FIELDS,
    AnswerRecord,
    Assessment,
    Attachment,
    ChatState,
    ConstraintError,
    Duplicate,
    Invite,
    Membership,
    NotFound,
    OutboxMessage,
    Person,
    StorageError,
    Transaction,
    Unit,
)
from storage.migrate import apply_migrations
from storage.rowcache import RowCache

MEMORY = ":memory:"
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
UNIT_FIELDS = frozenset(
    (
        *UNIT_DETAIL_FIELDS,
        "name",
        "kind",
        "level",
        "supervisor_id",
        "level1_decision_number",
        "level1_decision_date",
        "supervises",
        "reminders_muted",
    )
)
CHUNK = 500  # ids per "IN (…)" query, well under SQLite's limit of bound parameters
_DUPLICATE = frozenset(("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"))

Params = tuple[Any, ...]


def _columns(record: type[Any], table: str = "") -> str:
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + f.name for f in fields(record))


_UNIT_COLS = _columns(Unit)
_PERSON_COLS = _columns(Person)
_INVITE_COLS = _columns(Invite)
_ASSESSMENT_COLS = _columns(Assessment)
_ATTACHMENT_COLS = _columns(Attachment)
_ANSWER_COLS = _columns(AnswerRecord)


# --- time and JSON ----------------------------------------------------------------------------


def now() -> str:
    """The current time as stored: ISO-8601 UTC with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_text(value: datetime | None) -> str | None:
    """An aware datetime as stored text; a naive one is refused (its zone would be a guess)."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: give a time zone (e.g. datetime.UTC)")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str | None) -> datetime | None:
    """Stored text as an aware UTC datetime."""
    if text is None:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _json(data: dict[str, Any] | None) -> str:
    return json.dumps(data or {}, ensure_ascii=False, separators=(",", ":"))


# --- rows to records --------------------------------------------------------------------------


def _unit(row: sqlite3.Row) -> Unit:
    values = dict(row)
    values["created_at"] = from_text(values["created_at"])
    decided = values["level1_decision_date"]
    values["level1_decision_date"] = date.fromisoformat(decided) if decided else None
    values["supervises"] = bool(values["supervises"])
    values["reminders_muted"] = bool(values["reminders_muted"])
    return Unit(**values)


def _person(row: sqlite3.Row) -> Person:
    return Person(**dict(row))


def _invite(row: sqlite3.Row) -> Invite:
    values = dict(row)
    values["expires_at"] = from_text(values["expires_at"])
    values["revoked"] = bool(values["revoked"])
    return Invite(**values)


def _assessment(row: sqlite3.Row) -> Assessment:
    values = dict(row)
    for key in ("submitted_at", "created_at", "updated_at", "decided_at"):
        values[key] = from_text(values[key])
    on = values["submitted_on"]
    values["submitted_on"] = date.fromisoformat(on) if on else None
    return Assessment(**values)


def _outbox(row: sqlite3.Row) -> OutboxMessage:
    values = dict(row)
    values["payload"] = json.loads(values["payload"])
    values["created_at"] = from_text(values["created_at"])
    return OutboxMessage(**values)


def _answer(row: sqlite3.Row) -> AnswerRecord:
    values = dict(row)
    values["answered_at"] = from_text(values["answered_at"])
    return AnswerRecord(**values)


def _member(row: sqlite3.Row) -> tuple[Person, str]:
    values = dict(row)
    role: str = values.pop("role")
    return Person(**values), role


def _attachment(row: sqlite3.Row) -> Attachment:
    values = dict(row)
    values["created_at"] = from_text(values["created_at"])
    return Attachment(**values)


def _chat(row: sqlite3.Row) -> ChatState:
    values = dict(row)
    values["data"] = json.loads(values["data"])
    return ChatState(**values)


@contextmanager
def _translated() -> Iterator[None]:
    """SQLite's integrity errors as the storage's own (the engine knows no driver)."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if getattr(error, "sqlite_errorname", "") in _DUPLICATE:
            raise Duplicate(str(error)) from error
        raise ConstraintError(str(error)) from error


class SqliteTransaction:
    """`storage.base.Transaction` on the repository's connection, inside one savepoint.

    Statements run synchronously on the event loop's thread: each takes microseconds, and a
    hop to a worker thread per statement cost more than the statement. Only the commit, which
    waits for the disk, runs in a worker thread (see `SqliteRepository`).
    """

    def __init__(self, conn: sqlite3.Connection, cache: RowCache | None = None) -> None:
        self._connection: sqlite3.Connection | None = conn
        # Rows already read (see storage.rowcache): each write below updates or drops what it
        # changes, so a read here is what the database holds.
        kept = cache if cache is not None else RowCache()
        self._people = kept.people
        self._units = kept.units
        self._assessments = kept.assessments
        self._answers = kept.answers
        self._memberships = kept.memberships
        self._chats = kept.chats

    def end(self) -> None:
        """Called by the repository when the transaction is over: later use is an error."""
        self._connection = None

    # --- SQL helpers ----------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._open()

    def _open(self) -> sqlite3.Connection:
        """The connection; StorageError once the transaction ended (called first by reads the
        kept rows could answer, so that those fail too)."""
        if self._connection is None:
            raise StorageError("the transaction is over: open a new one")
        return self._connection

    async def _run(self, sql: str, params: Params = ()) -> int:
        """Execute one write; the number of rows it changed."""
        with _translated():
            return self._conn.execute(sql, params).rowcount

    async def _one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        with _translated():
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    async def _all(self, sql: str, params: Params = ()) -> Iterable[sqlite3.Row]:
        rows: list[sqlite3.Row] = self._conn.execute(sql, params).fetchall()
        return rows

    async def _returning(self, sql: str, params: Params) -> sqlite3.Row:
        row = await self._one(sql, params)
        if row is None:  # pragma: no cover - RETURNING on a successful insert always has a row
            raise StorageError(f"no row returned by {sql!r}")
        return row

    async def _editable(self, assessment_id: int, cursor: str | None = None) -> None:
        """Refuse a change to the answers of a submitted or approved assessment (the report
        staff and leaders saw must stay what it was); else mark the assessment as changed, and
        move its cursor when one is given (one statement when it is editable, the usual case)."""
        self._answers.pop(assessment_id)
        stamp = now()
        changes: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
        sets = "".join(f"{name} = ?, " for name in changes)
        changed = await self._run(
            f"UPDATE assessments SET {sets}updated_at = ? WHERE id = ? AND status IN (?, ?)",
            (*changes.values(), stamp, assessment_id, *EDITABLE),
        )
        if changed:
            self._restamp(assessment_id, stamp, **changes)
            return
        self._assessments.pop(assessment_id)
        row = await self._one("SELECT status FROM assessments WHERE id = ?", (assessment_id,))
        if row is None:
            raise NotFound(f"no assessment {assessment_id}")
        raise ConstraintError(f"assessment {assessment_id} is {row['status']}: not editable")

    async def _touch(self, assessment_id: int, sets: str = "", params: Params = ()) -> None:
        """Mark the assessment as changed now, with the other assignments `sets` (column names
        written here, never from input); NotFound when there is no such assessment."""
        self._assessments.pop(assessment_id)
        changed = await self._run(
            f"UPDATE assessments SET {sets}{', ' if sets else ''}updated_at = ? WHERE id = ?",
            (*params, now(), assessment_id),
        )
        if not changed:
            raise NotFound(f"no assessment {assessment_id}")

    def _restamp(self, assessment_id: int, stamp: str, **changes: Any) -> None:
        """Bring the assessment read before up to date with a change written just now (its new
        stamp and `changes`), instead of reading it again."""
        known = self._assessments.get(assessment_id)
        if known is not None:
            updated = replace(known, updated_at=from_text(stamp), **changes)
            self._assessments[assessment_id] = updated

    # --- updates and people -----------------------------------------------------------------

    async def mark_update(self, channel: str, update_id: str) -> bool:
        changed = await self._run(
            "INSERT INTO processed_updates (channel, update_id, processed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, update_id) DO NOTHING",
            (channel, update_id, now()),
        )
        return changed == 1

    async def upsert_person(self, channel: str, channel_user_id: str, display_name: str) -> Person:
        self._open()
        key = (channel, channel_user_id)
        known = self._people.get(key)
        if known is None:
            row = await self._one(
                f"SELECT {_PERSON_COLS} FROM people WHERE channel = ? AND channel_user_id = ?",
                key,
            )
            known = None if row is None else _person(row)
        if known is None or known.display_name != display_name:
            row = await self._returning(
                "INSERT INTO people (channel, channel_user_id, display_name, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (channel, channel_user_id)"
                f" DO UPDATE SET display_name = excluded.display_name RETURNING {_PERSON_COLS}",
                (channel, channel_user_id, display_name, now()),
            )
            known = _person(row)
        self._people[key] = known  # every turn asks: a read (usually from memory), not a write
        return known

    async def get_person(self, person_id: int) -> Person | None:
        row = await self._one(f"SELECT {_PERSON_COLS} FROM people WHERE id = ?", (person_id,))
        return None if row is None else _person(row)

    # --- chats ------------------------------------------------------------------------------

    async def get_chat(self, channel: str, chat_id: str) -> ChatState | None:
        self._open()
        kept = self._chats.get((channel, chat_id))
        if kept is not None:
            return kept
        row = await self._one(
            "SELECT channel, chat_id, person_id, mode, data, nonce, unit_id FROM chats"
            " WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        )
        if row is None:
            return None
        state = _chat(row)
        self._chats[(channel, chat_id)] = state
        return state

    async def save_chat(self, state: ChatState) -> None:
        await self._run(
            "INSERT INTO chats (channel, chat_id, person_id, mode, data, nonce, unit_id,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, chat_id) DO UPDATE SET"
            " person_id = excluded.person_id, mode = excluded.mode, data = excluded.data,"
            " nonce = excluded.nonce, unit_id = excluded.unit_id, updated_at = excluded.updated_at",
            (
                state.channel,
                state.chat_id,
                state.person_id,
                state.mode,
                _json(state.data),
                state.nonce,
                state.unit_id,
                now(),
            ),
        )
        self._chats[(state.channel, state.chat_id)] = state

    # --- units and memberships --------------------------------------------------------------

    async def create_unit(self, name: str, kind: str, level: str) -> Unit:
        row = await self._returning(
            "INSERT INTO units (name, kind, level, created_at) VALUES (?, ?, ?, ?)"
            f" RETURNING {_UNIT_COLS}",
            (name, kind, level, now()),
        )
        unit = _unit(row)
        self._units.pop(unit.id)
        return unit

    async def get_unit(self, unit_id: int) -> Unit | None:
        self._open()
        if unit_id not in self._units:
            row = await self._one(f"SELECT {_UNIT_COLS} FROM units WHERE id = ?", (unit_id,))
            self._units[unit_id] = None if row is None else _unit(row)
        return self._units[unit_id]

    async def update_unit(self, unit_id: int, fields: dict[str, Any]) -> Unit:
        unknown = set(fields) - UNIT_FIELDS
        if unknown:
            raise ValueError(f"not unit fields: {', '.join(sorted(unknown))}")
        if fields:  # the names are checked above, so formatting them into the SQL is safe
            assignments = ", ".join(f"{name} = ?" for name in fields)
            sql = f"UPDATE units SET {assignments} WHERE id = ?"
            values = [v.isoformat() if isinstance(v, date) else v for v in fields.values()]
            self._units.pop(unit_id)
            await self._run(sql, (*values, unit_id))
        unit = await self.get_unit(unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        return unit

    async def units(self) -> list[Unit]:
        rows = await self._all(f"SELECT {_UNIT_COLS} FROM units ORDER BY id")
        return [_unit(row) for row in rows]

    async def supervised_units(self, supervisor_id: int) -> list[Unit]:
        rows = await self._all(
            f"SELECT {_UNIT_COLS} FROM units WHERE supervisor_id = ? ORDER BY name, id",
            (supervisor_id,),
        )
        return [_unit(row) for row in rows]

    async def add_membership(self, unit_id: int, person_id: int, role: str) -> None:
        self._memberships.pop(person_id)
        await self._run(
            "INSERT INTO memberships (unit_id, person_id, role, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (unit_id, person_id) DO UPDATE SET role = excluded.role",
            (unit_id, person_id, role, now()),
        )

    async def memberships(self, person_id: int) -> list[Membership]:
        self._open()
        if person_id not in self._memberships:
            rows = await self._all(
                "SELECT unit_id, person_id, role FROM memberships WHERE person_id = ?"
                " ORDER BY created_at, unit_id",
                (person_id,),
            )
            self._memberships[person_id] = [Membership(**dict(row)) for row in rows]
        return list(self._memberships[person_id])

    async def members(self, unit_id: int) -> list[tuple[Person, str]]:
        rows = await self._all(
            f"SELECT {_columns(Person, 'p')}, m.role FROM memberships AS m"
            " JOIN people AS p ON p.id = m.person_id WHERE m.unit_id = ?"
            " ORDER BY m.created_at, p.id",
            (unit_id,),
        )
        return [_member(row) for row in rows]

    # --- invites ----------------------------------------------------------------------------

    async def create_invite(
        self,
        code: str,
        unit_id: int,
        role: str,
        created_by: int | None,
        expires_at: datetime | None,
    ) -> Invite:
        row = await self._returning(
            "INSERT INTO invites (code, unit_id, role, created_by, expires_at, created_at)"
            f" VALUES (?, ?, ?, ?, ?, ?) RETURNING {_INVITE_COLS}",
            (code, unit_id, role, created_by, to_text(expires_at), now()),
        )
        return _invite(row)

    async def get_invite(self, code: str) -> Invite | None:
        row = await self._one(f"SELECT {_INVITE_COLS} FROM invites WHERE code = ?", (code,))
        return None if row is None else _invite(row)

    async def revoke_invite(self, code: str) -> None:
        if not await self._run("UPDATE invites SET revoked = 1 WHERE code = ?", (code,)):
            raise NotFound(f"no invite {code!r}")

    # --- assessments ------------------------------------------------------------------------

    async def get_assessment(self, unit_id: int, framework_id: str, year: int) -> Assessment | None:
        row = await self._one(
            f"SELECT {_ASSESSMENT_COLS} FROM assessments"
            " WHERE unit_id = ? AND framework_id = ? AND year = ?",
            (unit_id, framework_id, year),
        )
        return None if row is None else _assessment(row)

    async def get_assessment_by_id(self, assessment_id: int) -> Assessment | None:
        self._open()
        if assessment_id not in self._assessments:
            row = await self._one(
                f"SELECT {_ASSESSMENT_COLS} FROM assessments WHERE id = ?", (assessment_id,)
            )
            self._assessments[assessment_id] = None if row is None else _assessment(row)
        return self._assessments[assessment_id]

    async def latest_assessment(self, unit_id: int) -> Assessment | None:
        row = await self._one(
            f"SELECT {_ASSESSMENT_COLS} FROM assessments WHERE unit_id = ?"
            " ORDER BY updated_at DESC, id DESC LIMIT 1",
            (unit_id,),
        )
        return None if row is None else _assessment(row)

    async def create_assessment(self, unit_id: int, framework_id: str, year: int) -> Assessment:
        stamp = now()
        row = await self._returning(
            "INSERT INTO assessments (unit_id, framework_id, year, status, created_at, updated_at)"
            f" VALUES (?, ?, ?, 'draft', ?, ?) RETURNING {_ASSESSMENT_COLS}",
            (unit_id, framework_id, year, stamp, stamp),
        )
        assessment = _assessment(row)
        self._assessments.pop(assessment.id)
        self._answers.pop(assessment.id)
        return assessment

    async def set_cursor(self, assessment_id: int, code: str | None) -> None:
        await self._touch(assessment_id, "cursor = ?", (code,))

    async def set_status(self, assessment_id: int, status: str, person_id: int | None) -> None:
        if status == "submitted":
            sets = "status = ?, submitted_by = ?, submitted_at = ?"
            await self._touch(assessment_id, sets, (status, person_id, now()))
        else:
            await self._touch(assessment_id, "status = ?", (status,))

    async def record_submission(
        self, assessment_id: int, person_id: int, submitted_on: date, level: int | None
    ) -> None:
        await self._touch(
            assessment_id,
            "status = 'submitted', submitted_by = ?, submitted_at = ?, submitted_on = ?, level = ?",
            (person_id, now(), submitted_on.isoformat(), level),
        )

    async def set_decision(
        self, assessment_id: int, status: str, person_id: int, comment: str | None
    ) -> None:
        await self._touch(
            assessment_id,
            "status = ?, decided_by = ?, decided_at = ?, return_comment = ?",
            (status, person_id, now(), comment),
        )

    async def _all_in(self, sql: str, ids: Sequence[int], *lead: Any) -> list[sqlite3.Row]:
        """`sql` (with `{marks}` where the "IN (…)" list goes) run over `ids` in chunks of
        CHUNK, after the `lead` parameters; every row of every chunk."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows += await self._all(sql.format(marks=marks), (*lead, *chunk))
        return rows

    async def assessments_of_units(
        self, unit_ids: Sequence[int], year: int
    ) -> dict[int, Assessment]:
        rows = await self._all_in(
            f"SELECT {_ASSESSMENT_COLS} FROM assessments WHERE year = ?"
            " AND unit_id IN ({marks}) ORDER BY updated_at, id",
            unit_ids,
            year,
        )
        # Ordered by change within a unit (a unit's rows are in one chunk): the latest wins.
        return {assessment.unit_id: assessment for assessment in map(_assessment, rows)}

    async def answers_of_assessments(
        self, assessment_ids: Sequence[int]
    ) -> dict[int, dict[str, AnswerRecord]]:
        found: dict[int, dict[str, AnswerRecord]] = {i: {} for i in assessment_ids}
        rows = await self._all_in(
            "SELECT assessment_id, code, value, evidence, answered_by, answered_at, prefill,"
            " prefill_evidence FROM answers WHERE assessment_id IN ({marks})",
            assessment_ids,
        )
        for owner, code, value, evidence, by, at, prefill, prefill_evidence in rows:
            # by position, not dict(row): a supervising level's overview reads every answer
            # of every unit (10,000 units: ~170,000 rows)
            record = AnswerRecord(
                code, value, evidence, by, from_text(at), prefill, prefill_evidence
            )
            found[owner][code] = record
        return found

    async def assessments_with_status(
        self, unit_ids: Sequence[int], status: str
    ) -> list[Assessment]:
        rows = await self._all_in(
            f"SELECT {_ASSESSMENT_COLS} FROM assessments WHERE status = ?"
            " AND unit_id IN ({marks})",
            unit_ids,
            status,
        )
        return sorted(map(_assessment, rows), key=lambda a: (a.year, a.id))

    async def assessments_in_progress(self) -> list[Assessment]:
        rows = await self._all(
            f"SELECT {_ASSESSMENT_COLS} FROM assessments"
            " WHERE status IN ('draft', 'returned') ORDER BY updated_at, id"
        )
        return [_assessment(row) for row in rows]

    # --- answers ----------------------------------------------------------------------------

    async def put_prefill(self, assessment_id: int, code: str, value: str, evidence: str) -> None:
        await self._editable(assessment_id)
        await self._run(
            "INSERT INTO answers (assessment_id, code, value, prefill, prefill_evidence)"
            " VALUES (?, ?, NULL, ?, ?) ON CONFLICT (assessment_id, code) DO UPDATE SET"
            " prefill = excluded.prefill, prefill_evidence = excluded.prefill_evidence",
            (assessment_id, code, value, evidence.strip() or None),
        )

    async def answers(self, assessment_id: int) -> dict[str, AnswerRecord]:
        self._open()
        if assessment_id not in self._answers:
            rows = await self._all(
                f"SELECT {_ANSWER_COLS} FROM answers WHERE assessment_id = ? ORDER BY code",
                (assessment_id,),
            )
            self._answers[assessment_id] = {row["code"]: _answer(row) for row in rows}
        return dict(self._answers[assessment_id])

    async def put_answer(self, assessment_id: int, code: str, value: str, person_id: int) -> None:
        known = self._answers.get(assessment_id)
        await self._editable(assessment_id, cursor=code)
        row = await self._returning(
            "INSERT INTO answers (assessment_id, code, value, answered_by, answered_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (assessment_id, code) DO UPDATE SET"
            " value = excluded.value, answered_by = excluded.answered_by,"
            f" answered_at = excluded.answered_at RETURNING {_ANSWER_COLS}",
            (assessment_id, code, value, person_id, now()),
        )
        if known is not None:  # the answers read before, with this one as it now stands
            self._answers[assessment_id] = dict(sorted({**known, code: _answer(row)}.items()))

    async def append_evidence(
        self, assessment_id: int, code: str, text: str, person_id: int
    ) -> None:
        """Blank text is ignored; a new row has no value and no answered_by/at (those are the
        value's: who wrote which evidence is the event log's business)."""
        paragraph = text.strip()
        if not paragraph:
            return
        await self._editable(assessment_id)
        await self._run(
            "INSERT INTO answers (assessment_id, code, value, evidence) VALUES (?, ?, NULL, ?)"
            " ON CONFLICT (assessment_id, code) DO UPDATE SET evidence = CASE"
            " WHEN answers.evidence = '' THEN excluded.evidence"
            " ELSE answers.evidence || char(10, 10) || excluded.evidence END",
            (assessment_id, code, paragraph),
        )

    async def clear_answers(self, assessment_id: int) -> None:
        await self._editable(assessment_id)
        for table in ("answers", "attachments", "narratives"):
            await self._run(f"DELETE FROM {table} WHERE assessment_id = ?", (assessment_id,))

    # --- outbox and reminders --------------------------------------------------------------

    async def enqueue(
        self, person_id: int | None, channel: str, chat_id: str, payload: dict[str, Any]
    ) -> int:
        stamp = now()
        row = await self._returning(
            "INSERT INTO outbox (person_id, channel, chat_id, payload, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (person_id, channel, chat_id, _json(payload), stamp, stamp),
        )
        return int(row["id"])

    async def due_messages(self, now: datetime, limit: int = 50) -> list[OutboxMessage]:
        rows = await self._all(
            "SELECT id, person_id, channel, chat_id, payload, attempts, created_at FROM outbox"
            " WHERE sent_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
            " LIMIT ?",
            (to_text(now), limit),
        )
        return [_outbox(row) for row in rows]

    async def message_sent(self, message_id: int) -> None:
        await self._run("UPDATE outbox SET sent_at = ? WHERE id = ?", (now(), message_id))

    async def message_failed(self, message_id: int, error: str, retry_at: datetime) -> None:
        await self._run(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE id = ?",
            (error[:500], to_text(retry_at), message_id),
        )

    async def last_reminder(self, unit_id: int, year: int) -> datetime | None:
        row = await self._one(
            "SELECT last_sent_at FROM reminders WHERE unit_id = ? AND year = ?", (unit_id, year)
        )
        return None if row is None else from_text(row["last_sent_at"])

    async def set_reminded(self, unit_id: int, year: int, at: datetime) -> None:
        await self._run(
            "INSERT INTO reminders (unit_id, year, last_sent_at) VALUES (?, ?, ?)"
            " ON CONFLICT (unit_id, year) DO UPDATE SET last_sent_at = excluded.last_sent_at,"
            " sent_count = reminders.sent_count + 1",
            (unit_id, year, to_text(at)),
        )

    # --- attachments and narratives ---------------------------------------------------------

    async def add_attachment(
        self,
        assessment_id: int,
        code: str,
        kind: str,
        channel: str,
        file_ref: str,
        file_name: str | None,
        mime_type: str | None,
        size: int | None,
        person_id: int,
    ) -> Attachment:
        await self._editable(assessment_id)
        row = await self._returning(
            "INSERT INTO attachments (assessment_id, code, kind, channel, file_ref, file_name,"
            " mime_type, size, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            f" RETURNING {_ATTACHMENT_COLS}",
            (
                assessment_id,
                code,
                kind,
                channel,
                file_ref,
                file_name,
                mime_type,
                size,
                person_id,
                now(),
            ),
        )
        return _attachment(row)

    async def attachments(self, assessment_id: int) -> list[Attachment]:
        rows = await self._all(
            f"SELECT {_ATTACHMENT_COLS} FROM attachments WHERE assessment_id = ? ORDER BY id",
            (assessment_id,),
        )
        return [_attachment(row) for row in rows]

    async def narratives(self, assessment_id: int) -> dict[str, tuple[str, bool]]:
        rows = await self._all(
            "SELECT section, text, is_draft FROM narratives WHERE assessment_id = ?"
            " ORDER BY section",
            (assessment_id,),
        )
        return {row["section"]: (row["text"], bool(row["is_draft"])) for row in rows}

    async def put_narrative(
        self, assessment_id: int, section: str, text: str, is_draft: bool, person_id: int | None
    ) -> None:
        await self._editable(assessment_id)
        await self._run(
            "INSERT INTO narratives (assessment_id, section, text, is_draft, updated_by,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (assessment_id, section)"
            " DO UPDATE SET text = excluded.text, is_draft = excluded.is_draft,"
            " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (assessment_id, section, text, int(is_draft), person_id, now()),
        )

    # --- the event log ----------------------------------------------------------------------

    async def log(
        self,
        kind: str,
        *,
        person_id: int | None = None,
        unit_id: int | None = None,
        assessment_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        await self._run(
            "INSERT INTO events (at, kind, person_id, unit_id, assessment_id, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (now(), kind, person_id, unit_id, assessment_id, _json(data)),
        )


class SqliteRepository:
    """`storage.base.Repository` on one SQLite connection; open it with `await open(path)`.

    Group commit: each `transaction()` is a savepoint inside the connection's current SQLite
    transaction; its caller resumes only once a COMMIT that includes it has reached the disk.
    Transactions that queue while a commit is being written run next and share the following
    commit, so one fsync serves many answers under load, and none is ever reported done
    before it is durable. A failed transaction rolls back to its savepoint alone.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()  # one transaction (or the commit) on the connection at a time
        self._closed = False
        self._waiting: list[asyncio.Future[None]] = []  # released, waiting for their commit
        self._committer: asyncio.Task[None] | None = None
        self._cache = RowCache()
        self._data_version: int | None = None

    @classmethod
    async def open(cls, path: str | Path, *, synchronous: str = "FULL") -> SqliteRepository:
        """Open (creating it and its folders if needed) and migrate the database at `path`."""
        mode = synchronous.upper()
        if mode not in SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS)}: {synchronous!r}"
            )
        if str(path) != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return cls(await asyncio.to_thread(_connect, str(path), mode))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A savepoint, released on normal exit and rolled back on any exception; the caller
        continues after the commit that makes it durable (StorageError if that commit fails)."""
        async with self._lock:
            if self._closed:
                raise StorageError("the repository is closed")
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")
                self._check_cache()
            self._conn.execute("SAVEPOINT tx")
            tx = SqliteTransaction(self._conn, self._cache)
            try:
                yield tx
            except BaseException:
                self._conn.execute("ROLLBACK TO tx")
                self._conn.execute("RELEASE tx")
                self._cache.clear()  # it may hold what was just undone
                self._commit_soon()  # end the SQLite transaction: others wait for its lock
                raise
            finally:
                tx.end()
            self._conn.execute("RELEASE tx")
            durable = asyncio.get_running_loop().create_future()
            self._waiting.append(durable)
            self._commit_soon()
        await durable

    def _commit_soon(self) -> None:
        """Make sure a commit follows what ran so far (unless one is already on its way)."""
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit())

    async def _commit(self) -> None:
        """Commit everything released so far, once the transactions queued before it ran."""
        async with self._lock:
            batch, self._waiting = self._waiting, []
            if not self._conn.in_transaction:
                _settle(batch, None)
                return
            try:
                await asyncio.to_thread(self._conn.execute, "COMMIT")
            except BaseException as exc:
                self._cache.clear()
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                _settle(batch, StorageError(f"commit failed: {exc}"))
                if not isinstance(exc, Exception):
                    raise
            else:
                _settle(batch, None)

    def _check_cache(self) -> None:
        """Drop the kept rows if another connection has committed since we last looked (the
        write lock is ours now: nobody else can commit until our COMMIT)."""
        version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        if version != self._data_version:
            self._cache.clear()
            self._data_version = version

    async def close(self) -> None:
        """Wait for running transactions and their commit, then close; closing twice is
        harmless."""
        if self._committer is not None:
            with contextlib.suppress(BaseException):
                await self._committer
        async with self._lock:
            if not self._closed:
                self._closed = True
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
                await asyncio.to_thread(self._conn.close)


def _settle(batch: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    """Connect, configure and migrate (in a worker thread: opening may wait for the disk)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        journal = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if journal != "wal" and path != MEMORY:
            raise StorageError(f"could not turn on WAL mode (journal_mode is {journal!r})")
        for pragma in ("foreign_keys = ON", "busy_timeout = 5000", f"synchronous = {synchronous}"):
            conn.execute(f"PRAGMA {pragma}")
        apply_migrations(conn)
    except BaseException:
        conn.close()
        raise
    return conn
