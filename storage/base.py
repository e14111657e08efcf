"""The storage contract: the records the engine works with and what one transaction guarantees.

The engine knows no SQL: it opens a transaction, reads and writes through these methods, and
replies only after the transaction has committed. `storage.sqlite` keeps this contract on SQLite
(aiosqlite), `storage.postgres` on PostgreSQL (asyncpg, several worker processes on one
database); the engine is the same on both.

What a backend guarantees (and its tests check):

- **Atomic and durable.** Everything done through one `Transaction` commits together or not at
  all. `Repository.transaction()`'s block returns only once its changes have reached the disk
  (a commit that includes them succeeded); if they did not, the block raises `StorageError`,
  even when the failure (a full disk, an I/O error, the database rolling back on its own)
  happened after the block's last statement. Nobody is told "saved" for what is not stored.
- **Serializable.** Transactions behave as if run one at a time: what a transaction read is
  what it writes against (get-then-create of an assessment, a single-use code read then
  revoked, a pending decision read then set). A backend that detects a conflict instead of
  preventing it raises `Conflict`: the caller runs the whole turn again on a fresh transaction.
  `Conflict` also says "not saved, nothing half-done: run it again" when a backend commits
  many transactions together and the commit, or another transaction of the same batch, failed
  (SQLite's group commit does). A write that raised (`Duplicate`, `ConstraintError` …) may
  end the transaction (PostgreSQL): the block should let the error propagate, as turns do.
- **Re-runnable.** Because a transaction may be re-run, a turn's transaction only reads and
  writes rows: it writes no file, sends no message and renders no document. Messages for other
  people go to the outbox (`enqueue`) and heavy work to a job (`enqueue_job`), both in the same
  transaction, and are acted on after the commit.
- **Ordered per chat.** Two events of one chat are never applied at once: the channel adapters
  hand a chat's events to the engine one after the other, and the engine's de-duplication
  (`start_turn`, or `mark_update`) makes a redelivered update a no-op. A backend shared by
  several processes also takes the chat's turn in `start_turn` (its `chat_id`), across them,
  and keeps that place while a turn that collided runs again. Events of different chats may
  run concurrently; their transactions are serializable with each other.
- **Owned channels.** Outbox rows and jobs name a channel; only a process holding that channel
  (`Repository.hold_channels`) takes them. A second process asking for a channel already held
  is refused, so two processes never deliver the same rows; webhook workers that share a channel
  (`shared=True`, PostgreSQL) each take a row with a lease, so none is delivered twice.
- **Snapshots for heavy readers.** `Repository.snapshot()` is a read-only transaction over one
  consistent state, which takes no write lock: a job reading ten thousand units never holds up
  a turn.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

ROLES = ("staff", "leader", "supervisor")
STATUSES = ("draft", "submitted", "approved", "returned")
EDITABLE = ("draft", "returned")  # statuses whose answers may still change


class StorageError(Exception):
    """Base of the errors a repository raises: the engine catches these, never a driver's own."""


class NotFound(StorageError, LookupError):
    """A write names a record (unit, assessment, invite …) that does not exist."""


class ConstraintError(StorageError):
    """A write breaks a rule of the schema: an unknown reference, a role or status not allowed."""


class Duplicate(ConstraintError):
    """A write would create a second record where one is allowed, e.g. (unit, framework, year)."""


class Conflict(StorageError):
    """The transaction collided with another one and was rolled back: run the turn again."""


class ChannelHeld(StorageError):
    """Another running process already holds the channel (it delivers that channel's rows)."""


def _detail(note: str) -> Any:
    """A unit field that people fill in for the report (asked one at a time, each skippable);
    `note` says what it is for."""
    return field(default=None, metadata={"detail": note})


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit (cơ quan, trường, xã/phường …) or a supervising unit. Its fields are spelled here
    only: the storage's columns, the details the chat asks and the report's header read them."""

    id: int
    name: str
    kind: str
    level: str  # "cap-huyen" | "cap-tinh"
    supervisor_id: int | None = None
    parent_agency: str | None = _detail("cơ quan chủ quản, first line of the header")
    supervising_name: str | None = _detail("cấp trên nhận báo cáo")
    address: str | None = _detail("địa chỉ")
    phone: str | None = _detail("điện thoại")
    email: str | None = _detail("thư điện tử")
    member_count: int | None = _detail("số thành viên")
    place_name: str | None = _detail("địa danh of the date line")
    doc_symbol: str | None = _detail("ký hiệu, e.g. BC-PGDĐT")
    signer_authority: str | None = _detail("e.g. KT. TRƯỞNG PHÒNG (empty when the head signs)")
    signer_title: str | None = _detail("e.g. PHÓ TRƯỞNG PHÒNG")
    signer_name: str | None = _detail("người ký")
    # Asked last (both skippable): the header's issuing body in its own words and line breaks,
    # and the body the TT 24 dossier goes to (else the supervising unit's, else the year's).
    issuing_name: str | None = _detail("the header's issuing body, lines split by '/'")
    recognising_body: str | None = _detail("cơ quan xét công nhận (TT 24): Kính gửi, Nơi nhận")
    created_at: datetime | None = None
    level1_decision_number: str | None = None  # None: never asked; "": none yet
    level1_decision_date: date | None = None
    supervises: bool = False  # a Phòng/Sở GD&ĐT or UBND that sees the units under it
    reminders_muted: bool = False


# Unit fields that people fill in (all but name, kind and level may stay empty until the report).
UNIT_DETAIL_FIELDS = tuple(f.name for f in fields(Unit) if "detail" in f.metadata)
# Every field `Transaction.update_unit` may set (all but the id and the creation stamp).
UNIT_WRITABLE_FIELDS = frozenset(f.name for f in fields(Unit)) - {"id", "created_at"}


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    channel: str
    channel_user_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Membership:
    unit_id: int
    person_id: int
    role: str


@dataclass(slots=True)
class Invite:
    code: str
    unit_id: int
    role: str
    created_by: int | None
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class Assessment:
    id: int
    unit_id: int
    framework_id: str
    year: int
    status: str  # one of STATUSES
    cursor: str | None  # the leaf code where the unit is in the questionnaire
    submitted_by: int | None = None
    submitted_at: datetime | None = None
    created_at: datetime | None = None
    # Stamped by every write to the assessment or to its answers (a status, a cursor, an
    # answer, evidence, clearing): the supervising level's page keeps a unit's judged row for
    # as long as this and the unit's `UnitStamp` stay the same.
    updated_at: datetime | None = None
    decided_by: int | None = None  # the leader who approved or returned it
    decided_at: datetime | None = None
    return_comment: str | None = None
    submitted_on: date | None = None  # the unit's date of submission (Vietnam)
    level: int | None = None  # the mức độ asked at submission (recognition frameworks)


@dataclass(frozen=True, slots=True)
class UnitStamp:
    """What tells whether a unit's row on the supervising level's page changed: the unit's
    fields that its row shows or its result depends on, and its assessment's change stamp.
    Plain values, so that ten thousand are read in one cheap query (full records cost ~20 µs
    each to build)."""

    unit_id: int
    name: str
    kind: str
    level: str
    level1_decision_number: str | None
    level1_decision_date: date | None
    assessment_id: int | None  # the unit's assessment of the year asked (None: not started)
    status: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    code: str
    value: str | None  # canonical form (rubric.answers.encode); None: evidence only so far
    evidence: str  # the unit's evidence narrative, paragraphs separated by blank lines
    answered_by: int | None
    answered_at: datetime | None
    prefill: str | None = None  # last year's value, offered when the question is asked
    prefill_evidence: str | None = None  # last year's evidence, offered for reuse


@dataclass(slots=True)
class Attachment:
    id: int
    assessment_id: int
    code: str
    kind: str  # "photo" | "document"
    channel: str
    file_ref: str  # the channel's file id or URL
    file_name: str | None
    mime_type: str | None
    size: int | None
    uploaded_by: int | None
    created_at: datetime | None = None


@dataclass(slots=True)
class OutboxMessage:
    """A message for someone other than the sender of the event that caused it."""

    id: int
    person_id: int | None
    channel: str
    chat_id: str
    payload: dict[str, Any]  # the replies, as `conversations.events.replies_to_json` writes them
    attempts: int
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """Heavy work decided in a turn and done after its commit (a report, a workbook, a pass
    over every unit): see `conversations.jobs` for the kinds."""

    id: int
    kind: str
    channel: str | None  # run by a process holding this channel (None: any process)
    payload: dict[str, Any]
    attempts: int  # runs started before this one


@dataclass(frozen=True, slots=True)
class Document:
    """A generated file (a report, a workbook) kept in the store, so that any process can send
    or serve it: `id` is random (a download link's key), never a counter."""

    id: str
    name: str
    data: bytes
    created_at: datetime | None = None


@dataclass(slots=True)
class ChatState:
    """Where one chat is in the dialogue (persisted: no in-memory state matters)."""

    channel: str
    chat_id: str
    person_id: int
    mode: str = "start"
    data: dict[str, Any] = field(default_factory=dict)
    nonce: str = ""  # changes with every question; buttons carry it (see conversations.tokens)
    unit_id: int | None = None


class Transaction(Protocol):
    """One atomic unit of work. Everything done through it commits together, or not at all.

    Writes raise `NotFound` for an assessment, unit or invite that does not exist, `Duplicate`
    for a second (unit, framework, year) assessment or invite code, `ConstraintError` for an
    unknown reference or a role or status outside ROLES / STATUSES. Datetimes passed in must be
    aware (a naive one is a ValueError); datetimes returned are aware, in UTC. No method writes
    to the event log by itself: the engine calls `log`.
    """

    @property
    def queued(self) -> bool:
        """Whether this transaction added outbox messages or jobs (their workers are woken
        once it has committed)."""

    async def mark_update(self, channel: str, update_id: str) -> bool:
        """Record a channel update id; False when it was already processed (a redelivery)."""

    async def start_turn(
        self,
        channel: str,
        update_id: str | None,
        channel_user_id: str,
        display_name: str,
        chat_id: str | None = None,
    ) -> Person | None:
        """What every turn starts with: `mark_update` then `upsert_person` (None when the update
        was processed already). One call so that a backend may do both in one round trip.
        `chat_id` (the event's chat) lets a backend shared by several processes take the
        chat's turn first, so two events of one chat never run at once anywhere."""

    async def upsert_person(self, channel: str, channel_user_id: str, display_name: str) -> Person:
        """The person behind a channel account, created on first contact; name kept current."""

    async def get_person(self, person_id: int) -> Person | None: ...

    async def get_chat(self, channel: str, chat_id: str) -> ChatState | None: ...

    async def save_chat(self, state: ChatState) -> None: ...

    async def create_unit(self, name: str, kind: str, level: str) -> Unit: ...

    async def get_unit(self, unit_id: int) -> Unit | None: ...

    async def update_unit(self, unit_id: int, fields: dict[str, Any]) -> Unit:
        """Set some of UNIT_DETAIL_FIELDS (and name, kind, level, supervisor_id)."""

    async def add_membership(self, unit_id: int, person_id: int, role: str) -> None:
        """Add or change the person's role in the unit."""

    async def memberships(self, person_id: int) -> list[Membership]: ...

    async def members(self, unit_id: int) -> list[tuple[Person, str]]:
        """The unit's people with their roles."""

    async def create_invite(
        self,
        code: str,
        unit_id: int,
        role: str,
        created_by: int | None,
        expires_at: datetime | None,
    ) -> Invite: ...

    async def get_invite(self, code: str) -> Invite | None: ...

    async def revoke_invite(self, code: str) -> None: ...

    async def get_assessment(
        self, unit_id: int, framework_id: str, year: int
    ) -> Assessment | None: ...

    async def get_assessment_by_id(self, assessment_id: int) -> Assessment | None: ...

    async def latest_assessment(self, unit_id: int) -> Assessment | None:
        """The unit's most recently updated assessment, whatever its status."""

    async def create_assessment(self, unit_id: int, framework_id: str, year: int) -> Assessment:
        """A new draft; the (unit, framework, year) triple is unique."""

    async def set_cursor(self, assessment_id: int, code: str | None) -> None: ...

    async def record_submission(
        self, assessment_id: int, person_id: int, submitted_on: date, level: int | None
    ) -> None:
        """Status "submitted", with who, when (now, and the unit's date) and the level asked."""

    async def set_decision(
        self, assessment_id: int, status: str, person_id: int, comment: str | None
    ) -> None:
        """A leader's decision: "approved", or "returned" with the comment shown to staff."""

    async def assessments_of_units(
        self, unit_ids: Sequence[int], year: int
    ) -> dict[int, Assessment]:
        """Each unit's assessment of `year` (the latest when a unit has several frameworks)."""

    async def answers_of_assessments(
        self, assessment_ids: Sequence[int]
    ) -> dict[int, dict[str, AnswerRecord]]:
        """The answers of many assessments at once (the supervising level's overview)."""

    async def assessments_with_status(
        self, unit_ids: Sequence[int], status: str
    ) -> list[Assessment]:
        """The units' assessments in `status`, oldest year first (a leader's queue)."""

    async def assessments_in_progress(self) -> list[Assessment]:
        """Every assessment in draft or returned, oldest change first (for reminders)."""

    async def units(self) -> list[Unit]:
        """Every unit (reminders go through them all)."""

    async def supervised_units(self, supervisor_id: int) -> list[Unit]:
        """The units placed under the supervising unit `supervisor_id`, by name."""

    async def unit_stamps(self, supervisor_id: int, year: int) -> list[UnitStamp]:
        """`supervised_units` (by name) as stamps, each with its assessment of `year` as
        `assessments_of_units` picks it: one query, no full record built."""

    async def put_prefill(self, assessment_id: int, code: str, value: str, evidence: str) -> None:
        """Offer last year's `value` and `evidence` for `code` (neither counts until kept)."""

    async def enqueue(
        self, person_id: int | None, channel: str, chat_id: str, payload: dict[str, Any]
    ) -> int:
        """Add a message to the outbox (sent after the commit by the channel's sender)."""

    async def due_messages(
        self, now: datetime, channels: Sequence[str], limit: int = 50
    ) -> list[OutboxMessage]:
        """Unsent outbox messages of `channels` whose next attempt is due, oldest first."""

    async def message_sent(self, message_id: int) -> None: ...

    async def message_failed(self, message_id: int, error: str, retry_at: datetime) -> None: ...

    async def enqueue_job(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        channel: str | None = None,
        dedup_key: str | None = None,
        run_after: datetime | None = None,
    ) -> int | None:
        """Add a job, run after the commit by a process holding `channel` (None: any). With a
        `dedup_key` at most one job ever has that key: a second is not added (None returned)."""

    async def claim_job(
        self, channels: Sequence[str], owner: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        """Take the oldest due job of `channels` (or of no channel) for `owner` until
        `lease_until`: pending ones, and running ones whose lease ran out (their process died)."""

    async def job_done(self, job_id: int, owner: str) -> bool:
        """Mark the job done; False when `owner` no longer holds it (its lease was taken over)."""

    async def job_failed(
        self, job_id: int, owner: str, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed run: tried again at `retry_at`, or given up when it is None."""

    async def renew_job(self, job_id: int, owner: str, lease_until: datetime) -> bool:
        """Extend `owner`'s lease on a running job; False when the job is no longer theirs."""

    async def release_jobs(self, channels: Sequence[str]) -> int:
        """Set back to pending the running jobs of `channels`: called by the process that has just
        taken the channels, so those jobs' process is gone. The number set back."""

    async def put_document(self, name: str, data: bytes) -> str:
        """Keep a generated file; its new random id."""

    async def get_document(self, document_id: str) -> Document | None: ...

    async def last_reminder(self, unit_id: int, year: int) -> datetime | None: ...

    async def set_reminded(self, unit_id: int, year: int, at: datetime) -> None: ...

    async def set_status(self, assessment_id: int, status: str, person_id: int | None) -> None:
        """Change the status; "submitted" also records who and when."""

    async def answers(self, assessment_id: int) -> dict[str, AnswerRecord]: ...

    async def put_answer(self, assessment_id: int, code: str, value: str, person_id: int) -> None:
        """Set the value of an answer (its evidence is kept); the assessment's cursor moves to
        `code` (the last question answered: where a resumed assessment goes on)."""

    async def append_evidence(
        self, assessment_id: int, code: str, text: str, person_id: int
    ) -> None:
        """Add a paragraph to the answer's evidence (creating the row if needed)."""

    async def clear_answers(self, assessment_id: int) -> None:
        """Delete every answer, attachment and narrative of the assessment (start over)."""

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
    ) -> Attachment: ...

    async def attachments(self, assessment_id: int) -> list[Attachment]: ...

    async def narratives(self, assessment_id: int) -> dict[str, tuple[str, bool]]:
        """Section key -> (text, is_draft)."""

    async def put_narrative(
        self, assessment_id: int, section: str, text: str, is_draft: bool, person_id: int | None
    ) -> None:
        """`is_draft` true: the unit chose the assistant's draft, which the report drafts again
        from the answers whenever it is read; false: the unit's own words, kept as written."""

    async def part_notes(self, assessment_id: int) -> dict[str, str]:
        """Chỉ tiêu code -> the note on its total ("20 cán bộ, công chức"); "" when the unit
        was asked and wanted no note (migration 0005)."""

    async def put_part_note(
        self, assessment_id: int, code: str, note: str, person_id: int | None
    ) -> None:
        """Keep the note on `code`'s total (an editable assessment only, like an answer)."""

    async def live_keyboard(self, channel: str, chat_id: str) -> int | None:
        """The channel's id of the chat's message whose buttons are live (migration 0005)."""

    async def set_live_keyboards(self, channel: str, marks: Mapping[str, int | None]) -> None:
        """Remember, for each chat of `marks`, its message whose buttons are live (None:
        forget it): a few statements however many chats (they are written hundreds at once)."""

    async def log(
        self,
        kind: str,
        *,
        person_id: int | None = None,
        unit_id: int | None = None,
        assessment_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append to the event log (never updated, never deleted)."""


class Repository(Protocol):
    """A store the engine opens transactions on (the guarantees are in this module's text)."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-write transaction: committed durably before the block returns, rolled back
        on error; `StorageError` (or `Conflict`: run again) when it could not be committed."""

    def snapshot(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-only transaction over one consistent state; it takes no write lock (heavy
        readers: the jobs). Writing through it is an error."""

    async def hold_channels(self, channels: Sequence[str], *, shared: bool = False) -> None:
        """Take `channels` for this process until `close`: only its workers deliver their
        outbox rows and run their jobs. `ChannelHeld` when another live process has one.
        `shared`: several processes run the channel together (webhook workers behind one
        address); a backend that can hand each row to one of them (PostgreSQL: rows claimed
        with a lease) lets them, and still refuses an exclusive holder (a poller) beside
        them. SQLite ignores it: one process per channel."""

    @property
    def url(self) -> str:
        """How another process (a job worker) opens the same store: a path or a URL."""

    async def close(self) -> None: ...


T = TypeVar("T")
ATTEMPTS = 12  # runs of one transaction when the store reports conflicts
BACKOFF_SECONDS = 0.004  # the first pause before a run again; doubled each time, at random
BACKOFF_CAP = 0.1  # the longest pause (all twelve runs then fit in about a second)


async def retrying(
    repository: Repository, block: Callable[[Transaction], Awaitable[T]], attempts: int = ATTEMPTS
) -> T:
    """`block` in a transaction, run again on `Conflict` (which promises nothing was saved);
    the engine runs its turns through it too.

    Between runs it pauses a random moment, doubling each time: transactions that collided
    (PostgreSQL fails one of two serializable transactions that read and write the same rows;
    fifty people joining at once collide many times) then run again spread out, not together
    into the same collision. SQLite's conflicts (a lost batch) are rare; its retry is at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with repository.transaction() as tx:
                return await block(tx)
        except Conflict:
            if attempt == attempts:
                raise
        pause = min(BACKOFF_CAP, BACKOFF_SECONDS * 2 ** (attempt - 1))
        await asyncio.sleep(random.uniform(0, pause))
    raise AssertionError("unreachable")  # pragma: no cover
