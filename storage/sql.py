"""The SQL both backends speak: `SqlTransaction` writes each statement of
`storage.base.Transaction` once, for SQLite (`storage.sqlite`) and PostgreSQL
(`storage.postgres`) alike. Each backend's transaction gives the few primitives the statements
run on (`_run`, `_run_many`, `_all`, `_run_then_all`, and `_write`'s check that a write may
happen) and the queries that differ between the two dialects (the class attributes left
unset here). Rows are stored alike on both: timestamps as ISO-8601 UTC text with microseconds
(they sort as text), returned as aware UTC datetimes; flags as 0/1; JSON as text.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from dataclasses import field as dc_field
from datetime import UTC, date, datetime
from typing import Any

from storage.base import (
    EDITABLE,
    UNIT_WRITABLE_FIELDS,
    AnswerRecord,
    Assessment,
    Attachment,
    ChatState,
    ConstraintError,
    Document,
    Invite,
    Job,
    Membership,
    NotFound,
    OutboxMessage,
    Person,
    StorageError,
    Unit,
    UnitStamp,
)

CHUNK = 500  # ids per "IN (…)" query, well under SQLite's limit of bound parameters

Params = tuple[Any, ...]
Row = sqlite3.Row  # what a statement's rows are read as (asyncpg's Record reads alike)


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


def _unit(row: Row | dict[str, Any]) -> Unit:
    values = dict(row)
    values["created_at"] = from_text(values["created_at"])
    decided = values["level1_decision_date"]
    values["level1_decision_date"] = date.fromisoformat(decided) if decided else None
    values["supervises"] = bool(values["supervises"])
    values["reminders_muted"] = bool(values["reminders_muted"])
    return Unit(**values)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _person(row: Row) -> Person:
    return Person(**dict(row))


def _invite(row: Row) -> Invite:
    values = dict(row)
    values["expires_at"] = from_text(values["expires_at"])
    values["revoked"] = bool(values["revoked"])
    return Invite(**values)


def _assessment(row: Row | dict[str, Any]) -> Assessment:
    values = dict(row)
    for key in ("submitted_at", "created_at", "updated_at", "decided_at"):
        values[key] = from_text(values[key])
    on = values["submitted_on"]
    values["submitted_on"] = date.fromisoformat(on) if on else None
    return Assessment(**values)


def _outbox(row: Row) -> OutboxMessage:
    values = dict(row)
    values["payload"] = json.loads(values["payload"])
    values["created_at"] = from_text(values["created_at"])
    return OutboxMessage(**values)


def _answer(row: Row | dict[str, Any]) -> AnswerRecord:
    values = dict(row)
    values["answered_at"] = from_text(values["answered_at"])
    return AnswerRecord(**values)


def _member(row: Row) -> tuple[Person, str]:
    values = dict(row)
    role: str = values.pop("role")
    return Person(**values), role


def _attachment(row: Row) -> Attachment:
    values = dict(row)
    values["created_at"] = from_text(values["created_at"])
    return Attachment(**values)


def _chat(row: Row | dict[str, Any]) -> ChatState:
    values = dict(row)
    values["data"] = json.loads(values["data"])
    return ChatState(**values)


_INSERT_EVENT = (
    "INSERT INTO events (at, kind, person_id, unit_id, assessment_id, data)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)  # fmt: skip
_INSERT_UPDATE = "INSERT INTO processed_updates (channel, update_id, processed_at) VALUES (?, ?, ?)"
_UPSERT_CHAT = (
    "INSERT INTO chats (channel, chat_id, person_id, mode, data, nonce, unit_id, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET"
    " person_id = excluded.person_id, mode = excluded.mode, data = excluded.data,"
    " nonce = excluded.nonce, unit_id = excluded.unit_id, updated_at = excluded.updated_at"
)


# Sent with the assessment's mark in one wait (`SqlTransaction._run_then_all`), the answer is
# written only if the assessment carries that mark (its `updated_at` is the mark's moment): not
# when the assessment is not editable (the mark changed nothing), nor when the database rolled
# the whole transaction back at the mark (the answer, queued behind it, then runs on its own).
_IF_MARKED = "EXISTS (SELECT 1 FROM assessments WHERE id = ? AND updated_at = ?)"
_PUT_ANSWER = (
    "INSERT INTO answers (assessment_id, code, value, answered_by, answered_at)"
    f" SELECT ?, ?, ?, ?, ? WHERE {_IF_MARKED} ON CONFLICT (assessment_id, code) DO UPDATE SET"
    " value = excluded.value, answered_by = excluded.answered_by,"
    f" answered_at = excluded.answered_at RETURNING {_ANSWER_COLS}"
)


@dataclass
class _Later:
    """Writes that no statement of the turn reads back from the database (the event log, the
    chat's state), kept to be written together just before the transaction's COMMIT (on
    SQLite, the batch's: two statements a batch instead of two a turn). They are in the same
    database transaction as the rest of the turn, so they commit with it or are rolled back
    with it."""

    events: list[Params] = dc_field(default_factory=list)
    chats: dict[tuple[str, str], Params] = dc_field(default_factory=dict)
    updates: dict[tuple[str, str], str] = dc_field(default_factory=dict)  # processed, and when

    def take(self, other: _Later) -> None:
        self.events += other.events
        self.chats.update(other.chats)
        self.updates.update(other.updates)

    def clear(self) -> None:
        self.events.clear()
        self.chats.clear()
        self.updates.clear()

    def statements(self) -> list[tuple[str, list[Params]]]:
        """The held writes as statements, each with its rows (one `executemany` each)."""
        held = [
            # a plain INSERT: a duplicate would fail the batch, never hide
            (_INSERT_UPDATE, [(*key, at) for key, at in self.updates.items()]),
            (_INSERT_EVENT, list(self.events)),
            (_UPSERT_CHAT, list(self.chats.values())),
        ]
        return [(sql, rows) for sql, rows in held if rows]

    def chat(self, key: tuple[str, str]) -> ChatState | None:
        """The chat as a transaction of this batch left it (a fresh copy), if one did."""
        row = self.chats.get(key)
        if row is None:
            return None
        channel, chat_id, person_id, mode, data, nonce, unit_id, _ = row
        return ChatState(channel, chat_id, person_id, mode, json.loads(data), nonce, unit_id)


class SqlTransaction:
    """`storage.base.Transaction` in the SQL both dialects read alike, on a backend's
    connection `conn` (its subclass runs the statements: see the module's docstring)."""

    # The queries that differ between the dialects, set by each backend's subclass.
    TURN_START: str  # the update's dedup, the person and what the turn reads next
    PERSON_AND_SO_ON: str  # the same without the dedup
    ASSESSMENT_AND_ANSWERS: str  # an assessment with its answers as JSON
    PARAGRAPH_BREAK: str  # an expression for two line feeds
    PUT_ANSWER = _PUT_ANSWER

    def __init__(self, conn: Any, *, writable: bool = True, batch: _Later | None = None) -> None:
        self._connection: Any = conn
        self._batch = batch or _Later()  # what earlier transactions of the batch left to write
        self.later = _Later()  # this transaction's own, handed to the batch when it succeeds
        self._writable = writable
        self._queued = False
        # Rows this transaction has read, until it writes them (a turn reads its unit and
        # assessment several times): nothing outlives the transaction.
        self._units: dict[int, Unit | None] = {}
        self._assessments: dict[int, Assessment | None] = {}
        self._answers: dict[int, dict[str, AnswerRecord]] = {}
        self._memberships: dict[int, list[Membership]] = {}
        self._chats: dict[tuple[str, str], ChatState | None] = {}

    @property
    def queued(self) -> bool:
        return self._queued

    def end(self) -> None:
        """Called by the repository when the transaction is over: later use is an error."""
        self._connection = None

    # --- what each backend runs the statements on -------------------------------------------

    def _open(self) -> Any:
        """The connection, while the transaction lasts."""
        if self._connection is None:
            raise StorageError("the transaction is over: open a new one")
        return self._connection

    def _write(self) -> Any:
        """The connection, if this transaction may write now (a backend checks more)."""
        if not self._writable:
            raise StorageError("a snapshot is read-only")
        return self._open()

    async def _run(self, sql: str, params: Params = ()) -> int:
        """Execute one write; the number of rows it changed."""
        raise NotImplementedError

    async def _run_many(self, sql: str, rows: Sequence[Params]) -> None:
        """Execute one write for each of `rows`."""
        raise NotImplementedError

    async def _all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query (or of a write with RETURNING)."""
        raise NotImplementedError

    async def _run_then_all(
        self, write: tuple[str, Params], query: tuple[str, Params]
    ) -> tuple[int, list[Row]]:
        """A write (the rows it changed), then a statement with rows (them). Should the
        database roll the transaction back at the write, the second must change nothing:
        a backend may send both before either is done (see `_IF_MARKED`)."""
        raise NotImplementedError

    async def _one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _returning(self, sql: str, params: Params) -> Row:
        """The row of a write with RETURNING."""
        self._write()
        row = await self._one(sql, params)
        if row is None:  # pragma: no cover - RETURNING on a successful insert always has a row
            raise StorageError(f"no row returned by {sql!r}")
        return row

    async def _returning_maybe(self, sql: str, params: Params) -> Row | None:
        """The row of a write with RETURNING that may change nothing (ON CONFLICT DO NOTHING)."""
        self._write()
        return await self._one(sql, params)

    async def _editable(
        self,
        assessment_id: int,
        cursor: str | None = None,
        then: tuple[str, Params] | None = None,
        stamp: str | None = None,
    ) -> list[Row]:
        """Refuse a change to the answers of a submitted or approved assessment (the report
        staff and leaders saw must stay what it was); else mark the assessment as changed, and
        move its cursor when one is given (one statement when it is editable, the usual case).

        `then` is the caller's change, sent with the mark (see `_run_then_all`); it must hold
        `_IF_MARKED` for the mark's `stamp` (the caller's moment), so it changes nothing when
        the mark did not happen. Its rows are returned."""
        self._answers.pop(assessment_id, None)  # the caller changes them next
        changes: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
        sets = "".join(f"{name} = ?, " for name in changes)
        stamp = stamp or now()
        mark = (
            f"UPDATE assessments SET {sets}updated_at = ? WHERE id = ? AND status IN (?, ?)",
            (*changes.values(), stamp, assessment_id, *EDITABLE),
        )
        rows: list[Row] = []
        if then is None:
            changed = await self._run(*mark)
        else:
            changed, rows = await self._run_then_all(mark, then)
        kept = self._assessments.get(assessment_id)
        if changed and kept is not None:  # as it now stands, without reading it again
            self._assessments[assessment_id] = replace(kept, updated_at=from_text(stamp), **changes)
        if changed:
            return rows
        self._assessments.pop(assessment_id, None)
        row = await self._one("SELECT status FROM assessments WHERE id = ?", (assessment_id,))
        if row is None:
            raise NotFound(f"no assessment {assessment_id}")
        raise ConstraintError(f"assessment {assessment_id} is {row['status']}: not editable")

    async def _touch(self, assessment_id: int, sets: str = "", params: Params = ()) -> None:
        """Mark the assessment as changed now, with the other assignments `sets` (column names
        written here, never from input); NotFound when there is no such assessment."""
        self._assessments.pop(assessment_id, None)
        changed = await self._run(
            f"UPDATE assessments SET {sets}{', ' if sets else ''}updated_at = ? WHERE id = ?",
            (*params, now(), assessment_id),
        )
        if not changed:
            raise NotFound(f"no assessment {assessment_id}")

    async def _all_in(self, sql: str, ids: Sequence[int], *lead: Any) -> list[Row]:
        """`sql` (with `{marks}` where the "IN (…)" list goes) run over `ids` in chunks of
        CHUNK, after the `lead` parameters; every row of every chunk."""
        rows: list[Row] = []
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows += await self._all(sql.format(marks=marks), (*lead, *chunk))
        return rows

    # --- updates and people -----------------------------------------------------------------

    async def start_turn(
        self,
        channel: str,
        update_id: str | None,
        channel_user_id: str,
        display_name: str,
        chat_id: str | None = None,
    ) -> Person | None:
        """One query for what a turn starts from: whether its update was processed already
        (then None), the person, their memberships with each unit, their private chat. The
        update is recorded with the batch, just before its commit (see `_Later`). `chat_id`
        needs no lock here: one process owns the file and orders a chat's turns itself."""
        if update_id is None:
            return await self.upsert_person(channel, channel_user_id, display_name)
        key = (channel, update_id)
        row = await self._one(self.TURN_START, (*key, channel, channel_user_id))
        assert row is not None  # one row, whoever is asking
        if row["seen"] or key in self._batch.updates or key in self.later.updates:
            return None  # a redelivered update changes nothing
        self._write()
        self.later.updates[key] = now()
        if row["id"] is not None and row["display_name"] == display_name:
            person = Person(*tuple(row)[1:5])
            self._keep_turn_rows(person, row["units"], row["chat"], row["work"])
            return person
        return await self.upsert_person(channel, channel_user_id, display_name)

    async def mark_update(self, channel: str, update_id: str) -> bool:
        if (channel, update_id) in self._batch.updates or (
            channel,
            update_id,
        ) in self.later.updates:
            return False
        changed = await self._run(
            "INSERT INTO processed_updates (channel, update_id, processed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, update_id) DO NOTHING",
            (channel, update_id, now()),
        )
        return changed == 1

    async def upsert_person(self, channel: str, channel_user_id: str, display_name: str) -> Person:
        key = (channel, channel_user_id)
        row = await self._one(self.PERSON_AND_SO_ON, key)  # what the turn reads next, kept
        if row is not None and row["display_name"] == display_name:
            person = Person(*tuple(row)[:4])
            self._keep_turn_rows(person, row["units"], row["chat"], row["work"])
            return person  # a read, not a write
        row = await self._returning(
            "INSERT INTO people (channel, channel_user_id, display_name, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (channel, channel_user_id)"
            f" DO UPDATE SET display_name = excluded.display_name RETURNING {_PERSON_COLS}",
            (channel, channel_user_id, display_name, now()),
        )
        return _person(row)

    def _keep_turn_rows(
        self, person: Person, units: str, chat: str | None, work: str | None
    ) -> None:
        """Keep, for this transaction, the memberships, units, private chat and its assessment
        read with the person."""
        memberships = []
        for unit_id, role, unit in json.loads(units):
            memberships.append(Membership(unit_id, person.id, role))
            self._units.setdefault(unit_id, _unit(unit))
        self._memberships.setdefault(person.id, memberships)
        key = (person.channel, person.channel_user_id)
        pending = self._batch.chat(key)  # newer than the database's, if this batch changed it
        if pending is not None:
            self._chats.setdefault(key, pending)
        else:
            self._chats.setdefault(key, None if chat is None else _chat(json.loads(chat)))
            if work is not None:  # read with the chat it belongs to, so only beside that chat
                self._keep_assessment(json.loads(work))

    async def get_person(self, person_id: int) -> Person | None:
        row = await self._one(f"SELECT {_PERSON_COLS} FROM people WHERE id = ?", (person_id,))
        return None if row is None else _person(row)

    # --- chats ------------------------------------------------------------------------------

    async def get_chat(self, channel: str, chat_id: str) -> ChatState | None:
        self._open()
        if (channel, chat_id) in self._chats:
            return self._chats[(channel, chat_id)]
        pending = self._batch.chat((channel, chat_id))
        if pending is not None:
            self._chats[(channel, chat_id)] = pending
            return pending
        row = await self._one(
            "SELECT channel, chat_id, person_id, mode, data, nonce, unit_id FROM chats"
            " WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        )
        return None if row is None else _chat(row)

    async def save_chat(self, state: ChatState) -> None:
        """Written with the batch, just before its commit (see `_Later`)."""
        self._write()
        self.later.chats[(state.channel, state.chat_id)] = (
            state.channel,
            state.chat_id,
            state.person_id,
            state.mode,
            _json(state.data),
            state.nonce,
            state.unit_id,
            now(),
        )
        self._chats[(state.channel, state.chat_id)] = state

    # --- units and memberships --------------------------------------------------------------

    async def create_unit(self, name: str, kind: str, level: str) -> Unit:
        row = await self._returning(
            "INSERT INTO units (name, kind, level, created_at) VALUES (?, ?, ?, ?)"
            f" RETURNING {_UNIT_COLS}",
            (name, kind, level, now()),
        )
        return _unit(row)

    async def get_unit(self, unit_id: int) -> Unit | None:
        self._open()  # a kept row is no answer once the transaction is over
        if unit_id not in self._units:
            row = await self._one(f"SELECT {_UNIT_COLS} FROM units WHERE id = ?", (unit_id,))
            self._units[unit_id] = None if row is None else _unit(row)
        return self._units[unit_id]

    async def update_unit(self, unit_id: int, fields: dict[str, Any]) -> Unit:
        unknown = set(fields) - UNIT_WRITABLE_FIELDS
        if unknown:
            raise ValueError(f"not unit fields: {', '.join(sorted(unknown))}")
        if fields:  # the names are checked above, so formatting them into the SQL is safe
            assignments = ", ".join(f"{name} = ?" for name in fields)
            values = [v.isoformat() if isinstance(v, date) else v for v in fields.values()]
            self._units.pop(unit_id, None)
            await self._run(f"UPDATE units SET {assignments} WHERE id = ?", (*values, unit_id))
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

    async def unit_stamps(self, supervisor_id: int, year: int) -> list[UnitStamp]:
        rows = await self._all(
            "SELECT u.id, u.name, u.kind, u.level, u.level1_decision_number,"
            " u.level1_decision_date, a.id, a.status, a.updated_at FROM units AS u"
            " LEFT JOIN assessments AS a ON a.id = (SELECT b.id FROM assessments AS b"
            " WHERE b.unit_id = u.id AND b.year = ? ORDER BY b.updated_at DESC, b.id DESC"
            " LIMIT 1) WHERE u.supervisor_id = ? ORDER BY u.name, u.id",
            (year, supervisor_id),
        )
        return [
            UnitStamp(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                _day(row[5]),
                row[6],
                row[7],
                from_text(row[8]),
            )
            for row in rows
        ]

    async def add_membership(self, unit_id: int, person_id: int, role: str) -> None:
        self._memberships.pop(person_id, None)
        await self._run(
            "INSERT INTO memberships (unit_id, person_id, role, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (unit_id, person_id) DO UPDATE SET role = excluded.role",
            (unit_id, person_id, role, now()),
        )

    async def memberships(self, person_id: int) -> list[Membership]:
        self._open()  # a kept row is no answer once the transaction is over
        if person_id not in self._memberships:
            rows = await self._all(
                "SELECT unit_id, person_id, role FROM memberships WHERE person_id = ?"
                " ORDER BY created_at, unit_id",
                (person_id,),
            )
            self._memberships[person_id] = [Membership(*row) for row in rows]
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
        self._open()  # a kept row is no answer once the transaction is over
        if assessment_id not in self._assessments:
            row = await self._one(self.ASSESSMENT_AND_ANSWERS, (assessment_id,))
            if row is None:
                self._assessments[assessment_id] = None
            else:
                values = dict(row)
                self._keep_assessment({**values, "answers": json.loads(values["answers"])})
        return self._assessments[assessment_id]

    def _keep_assessment(self, values: dict[str, Any]) -> None:
        """Keep an assessment read with its answers (a list of answer objects), unless this
        transaction holds it already (its own view may be newer)."""
        answers = values.pop("answers")
        assessment = _assessment(values)
        if assessment.id not in self._assessments:
            self._assessments[assessment.id] = assessment
            self._answers[assessment.id] = {a["code"]: _answer(a) for a in answers}

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
        return _assessment(row)

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
        kept = self._answers.get(assessment_id)
        stamp = now()  # the mark's moment, and the answer's
        insert = (
            self.PUT_ANSWER,
            (assessment_id, code, value, person_id, stamp, assessment_id, stamp),
        )
        rows = await self._editable(assessment_id, cursor=code, then=insert, stamp=stamp)
        if kept is not None:  # the answers read before, with this one as it now stands
            self._answers[assessment_id] = dict(sorted({**kept, code: _answer(rows[0])}.items()))

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
            f" ELSE answers.evidence || {self.PARAGRAPH_BREAK} || excluded.evidence END",
            (assessment_id, code, paragraph),
        )

    async def clear_answers(self, assessment_id: int) -> None:
        await self._editable(assessment_id)
        for table in ("answers", "attachments", "narratives", "part_notes"):
            await self._run(f"DELETE FROM {table} WHERE assessment_id = ?", (assessment_id,))

    # --- outbox and reminders --------------------------------------------------------------

    async def enqueue(
        self, person_id: int | None, channel: str, chat_id: str, payload: dict[str, Any]
    ) -> int:
        stamp = now()
        self._queued = True
        row = await self._returning(
            "INSERT INTO outbox (person_id, channel, chat_id, payload, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (person_id, channel, chat_id, _json(payload), stamp, stamp),
        )
        return int(row["id"])

    async def due_messages(
        self, now: datetime, channels: Sequence[str], limit: int = 50
    ) -> list[OutboxMessage]:
        if not channels:
            return []
        marks = ", ".join("?" * len(channels))
        rows = await self._all(
            "SELECT id, person_id, channel, chat_id, payload, attempts, created_at FROM outbox"
            f" WHERE sent_at IS NULL AND channel IN ({marks}) AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (*channels, to_text(now), limit),
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

    # --- jobs -------------------------------------------------------------------------------

    async def enqueue_job(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        channel: str | None = None,
        dedup_key: str | None = None,
        run_after: datetime | None = None,
    ) -> int | None:
        stamp = now()
        self._queued = True
        row = await self._returning_maybe(
            "INSERT INTO jobs (kind, channel, payload, dedup_key, run_after, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            (kind, channel, _json(payload), dedup_key, to_text(run_after) or stamp, stamp),
        )
        return None if row is None else int(row["id"])

    # What a claim adds to the row it picks: nothing here (SQLite's transactions run one at a
    # time); a backend whose workers claim at once skips a row another is claiming.
    CLAIM_LOCK = ""

    async def claim_job(
        self, channels: Sequence[str], owner: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        marks = ", ".join("?" * len(channels)) or "NULL"
        at = to_text(now)
        row = await self._returning_maybe(
            "UPDATE jobs SET state = 'running', claimed_by = ?, lease_until = ?,"
            " attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE"
            " ((state = 'pending' AND run_after <= ?) OR (state = 'running' AND lease_until <= ?))"
            f" AND (channel IS NULL OR channel IN ({marks})) ORDER BY run_after, id LIMIT 1"
            f"{self.CLAIM_LOCK}) RETURNING id, kind, channel, payload, attempts - 1",
            (owner, to_text(lease_until), at, at, *channels),
        )
        if row is None:
            return None
        job_id, kind, channel, payload, attempts = row
        return Job(job_id, kind, channel, json.loads(payload), attempts)

    async def job_done(self, job_id: int, owner: str) -> bool:
        changed = await self._run(
            "UPDATE jobs SET state = 'done', finished_at = ?, lease_until = NULL"
            " WHERE id = ? AND claimed_by = ? AND state = 'running'",
            (now(), job_id, owner),
        )
        return changed == 1

    async def job_failed(
        self, job_id: int, owner: str, error: str, retry_at: datetime | None
    ) -> None:
        params: Params
        if retry_at is None:
            sets, params = "state = 'failed', finished_at = ?", (now(),)
        else:
            sets, params = "state = 'pending', run_after = ?", (to_text(retry_at),)
        await self._run(
            f"UPDATE jobs SET {sets}, last_error = ?, lease_until = NULL"
            " WHERE id = ? AND claimed_by = ? AND state = 'running'",
            (*params, error[:500], job_id, owner),
        )

    async def renew_job(self, job_id: int, owner: str, lease_until: datetime) -> bool:
        changed = await self._run(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND claimed_by = ? AND state = 'running'",
            (to_text(lease_until), job_id, owner),
        )
        return changed == 1

    async def release_jobs(self, channels: Sequence[str]) -> int:
        if not channels:
            return 0
        marks = ", ".join("?" * len(channels))
        return await self._run(
            "UPDATE jobs SET state = 'pending', lease_until = NULL, run_after = ?"
            f" WHERE state = 'running' AND channel IN ({marks})",
            (now(), *channels),
        )

    # --- documents ----------------------------------------------------------------------------

    async def put_document(self, name: str, data: bytes) -> str:
        document_id = secrets.token_urlsafe(24)
        await self._run(
            "INSERT INTO documents (id, name, data, size, created_at) VALUES (?, ?, ?, ?, ?)",
            (document_id, name, bytes(data), len(data), now()),
        )
        return document_id

    async def get_document(self, document_id: str) -> Document | None:
        row = await self._one(
            "SELECT id, name, data, created_at FROM documents WHERE id = ?", (document_id,)
        )
        if row is None:
            return None
        return Document(row["id"], row["name"], bytes(row["data"]), from_text(row["created_at"]))

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

    async def part_notes(self, assessment_id: int) -> dict[str, str]:
        rows = await self._all(
            "SELECT code, note FROM part_notes WHERE assessment_id = ? ORDER BY code",
            (assessment_id,),
        )
        return {row["code"]: row["note"] for row in rows}

    async def put_part_note(
        self, assessment_id: int, code: str, note: str, person_id: int | None
    ) -> None:
        await self._editable(assessment_id)
        await self._run(
            "INSERT INTO part_notes (assessment_id, code, note, updated_by, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (assessment_id, code) DO UPDATE SET"
            " note = excluded.note, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            (assessment_id, code, note, person_id, now()),
        )

    # --- channels' own marks ----------------------------------------------------------------

    async def live_keyboard(self, channel: str, chat_id: str) -> int | None:
        row = await self._one(
            "SELECT message_id FROM live_keyboards WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        )
        return None if row is None else int(row["message_id"])

    async def set_live_keyboards(self, channel: str, marks: Mapping[str, int | None]) -> None:
        stamp = now()
        gone = [(channel, chat) for chat, message in marks.items() if message is None]
        live = [
            (channel, chat, message, stamp)
            for chat, message in marks.items()
            if message is not None
        ]
        if gone:
            await self._run_many(
                "DELETE FROM live_keyboards WHERE channel = ? AND chat_id = ?", gone
            )
        if live:
            await self._run_many(
                "INSERT INTO live_keyboards (channel, chat_id, message_id, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET"
                " message_id = excluded.message_id, updated_at = excluded.updated_at",
                live,
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
        """Written with the batch, just before its commit (see `_Later`)."""
        self._write()
        self.later.events.append((now(), kind, person_id, unit_id, assessment_id, _json(data)))
