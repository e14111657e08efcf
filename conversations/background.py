"""How each kind of job (conversations.jobs) is done, and what its result sends.

`run` is called by the job worker (bot.jobs) in a separate process or thread: it opens the
store itself, reads one snapshot and does the heavy part (renders the .docx, builds the .xlsx,
decides which units are due a reminder). `finish` is then called back in the service, in the
transaction that marks the job done: the messages the result makes go to the outbox there.
A job run twice (its process died before `finish`) renders the same file again and sends once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from conversations.events import OutgoingFile, Reply, replies_from_json, replies_to_json
from conversations.jobs import OVERVIEW, REMINDERS, REPORT, Recipient
from conversations.overview import overview_reply
from conversations.reminders import send_reminders
from conversations.reporting import report_data, write_report
from conversations.settings import Settings
from conversations.working import Working
from storage import open_repository
from storage.base import Job, StorageError, Transaction
from templates.formatting import VIETNAM
from templates.text import t

Result = dict[str, Any]
Runner = Callable[[Transaction, dict[str, Any], Settings], Awaitable[Result]]


def run(kind: str, url: str, payload: dict[str, Any], settings: Settings) -> Result:
    """Do the job `kind` on a snapshot of the store at `url` (it opens its own connection and
    event loop: this runs in the worker's process or thread, never on the service's loop)."""
    return asyncio.run(_run(RUNNERS[kind], url, payload, settings))


async def _run(runner: Runner, url: str, payload: dict[str, Any], settings: Settings) -> Result:
    repository = await open_repository(url, migrate=False)
    try:
        async with repository.snapshot() as tx:
            return await runner(tx, payload, settings)
    finally:
        await repository.close()


async def _report(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    """Render the assessment's report as it is stored (as submitted, once submitted)."""
    assessment = await tx.get_assessment_by_id(int(payload["assessment_id"]))
    unit = await tx.get_unit(assessment.unit_id) if assessment else None
    if assessment is None or unit is None:
        raise StorageError(f"no assessment {payload['assessment_id']} to report")
    today = assessment.submitted_on or datetime.now(VIETNAM).date()
    work = Working.of(unit, assessment)
    file = write_report(settings.reports_dir, assessment, await report_data(tx, work, today))
    return {"file": [str(file.path), file.name, file.caption]}


async def _overview(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    supervisor = await tx.get_unit(int(payload["supervisor_id"]))
    if supervisor is None:
        raise StorageError(f"no supervising unit {payload['supervisor_id']}")
    today = date.fromisoformat(str(payload["today"]))
    reply = await overview_reply(tx, supervisor, int(payload["year"]), today, settings.reports_dir)
    return replies_to_json([reply])


async def _reminders(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    """Decide on the snapshot which units are due; the writes that records are replayed by
    `finish` (a snapshot cannot write)."""
    now = datetime.fromisoformat(str(payload["now"]))
    recorder = Recorder(tx)
    await send_reminders(recorder.as_transaction(), now, now.astimezone(VIETNAM).date(), settings)
    return {"writes": recorder.writes}


RUNNERS: dict[str, Runner] = {REPORT: _report, OVERVIEW: _overview, REMINDERS: _reminders}


class Recorder:
    """A snapshot that takes the reminder pass's few kinds of write down instead of doing them:
    reads go to the snapshot, and `writes` (JSON) is replayed later by `apply_writes`."""

    WRITES = frozenset(("set_reminded", "log", "enqueue"))

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self.writes: list[list[Any]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in self.WRITES:
            return getattr(self._tx, name)

        async def record(*args: Any, **kwargs: Any) -> None:
            self.writes.append([name, [_plain(a) for a in args], kwargs])

        return record

    def as_transaction(self) -> Transaction:
        recorded: Any = self  # reads and the recorded writes: what send_reminders calls
        return recorded  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    return {"$datetime": value.isoformat()} if isinstance(value, datetime) else value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$datetime"}:
        return datetime.fromisoformat(value["$datetime"])
    return value


async def apply_writes(tx: Transaction, writes: list[list[Any]]) -> None:
    """Replay what a `Recorder` took down, in order, in `tx`."""
    for name, args, kwargs in writes:
        if name not in Recorder.WRITES:
            raise StorageError(f"not a recorded write: {name!r}")
        await getattr(tx, name)(*(_typed(a) for a in args), **kwargs)


# --- back in the service ----------------------------------------------------------------------


Step = Callable[[Transaction], Awaitable[None]]
WRITES_PER_STEP = 100  # writes replayed per transaction: a few milliseconds of the write lock


def finishing(job: Job, result: Result, settings: Settings) -> list[Step]:
    """What `job` produced, as steps each run in its own transaction, the last one together
    with marking the job done. A reminder pass over thousands of units is many short steps
    (each unit's writes whole in one), so no turn waits behind one long transaction; were the
    process to die half-way, the job runs again on a new snapshot, in which the units already
    reminded are no longer due."""
    if job.kind == REMINDERS:
        chunks = _by_unit(result["writes"], WRITES_PER_STEP)
        return [_replay(chunk) for chunk in chunks] or [_nothing]
    return [lambda tx: finish(tx, job, result, settings)]


async def _nothing(tx: Transaction) -> None:
    return None


def _replay(writes: list[list[Any]]) -> Step:
    return lambda tx: apply_writes(tx, writes)


def _by_unit(writes: list[list[Any]], size: int) -> list[list[list[Any]]]:
    """`writes` cut into chunks of about `size`, only where a unit's writes begin (its
    `set_reminded`), so that a unit's reminder is recorded and queued in one transaction."""
    chunks: list[list[list[Any]]] = []
    current: list[list[Any]] = []
    for write in writes:
        if write[0] == "set_reminded" and len(current) >= size:
            chunks.append(current)
            current = []
        current.append(write)
    return [*chunks, current] if current else chunks


async def finish(tx: Transaction, job: Job, result: Result, settings: Settings) -> None:
    """Record what `job` produced, in the transaction that marks it done."""
    if job.kind == REPORT:
        path, name, caption = result["file"]
        file = OutgoingFile(Path(path), name, caption)
        for to in _recipients(job):
            await send(tx, to, [Reply("", files=(file,))])
    elif job.kind == OVERVIEW:
        for to in _recipients(job):
            await send(tx, to, replies_from_json(result))
    elif job.kind == REMINDERS:
        await apply_writes(tx, result["writes"])


async def give_up(tx: Transaction, job: Job, settings: Settings) -> None:
    """The job failed on every run: whoever waits for it is told, nothing is left hanging."""
    for to in _recipients(job):
        await send(tx, to, [Reply(t(f"job.failed.{job.kind}"))])


def _recipients(job: Job) -> list[Recipient]:
    return [Recipient.from_json(item) for item in job.payload.get("to", [])]


async def send(tx: Transaction, to: Recipient, replies: list[Reply]) -> None:
    """Queue `replies` for `to`, the text and each file as their own rows, so that a retry never
    repeats a part already delivered."""
    for reply in replies:
        parts = [Reply(reply.text, reply.choices)] if reply.text else []
        parts += [Reply("", files=(file,)) for file in reply.files]
        for part in parts:
            await tx.enqueue(to.person_id, to.channel, to.chat_id, replies_to_json([part]))
