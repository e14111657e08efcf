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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from conversations.events import OutgoingFile, Reply, replies_from_json, replies_to_json
from conversations.jobs import OVERVIEW, REMINDERS, REPORT, Recipient
from conversations.overview import overview_reply
from conversations.reminders import send_reminders
from conversations.reporting import report_data, write_reports
from conversations.settings import Settings
from conversations.working import Working
from storage import open_repository
from storage.base import Job, Repository, StorageError, Transaction, retrying
from templates.formatting import VIETNAM
from templates.text import t

Result = dict[str, Any]
Runner = Callable[[Transaction, dict[str, Any], Settings], Awaitable[Result]]


def run(
    kind: str, url: str, payload: dict[str, Any], settings: Settings, claim: Claim = (0, "")
) -> Result:
    """Do the job `kind` on a snapshot of the store at `url` (it opens its own connection and
    event loop: this runs in the worker's process or thread, never on the service's loop).
    `claim` (the job's id and its worker) lets the job write its own result when that is large,
    in short transactions, for as long as the job is still the worker's."""
    return asyncio.run(_run(kind, url, payload, settings, claim))


Claim = tuple[int, str]


async def _run(
    kind: str, url: str, payload: dict[str, Any], settings: Settings, claim: Claim
) -> Result:
    repository = await open_repository(url, migrate=False)
    try:
        async with repository.snapshot() as tx:
            result = await RUNNERS[kind](tx, payload, settings)
        if kind == REMINDERS:  # thousands of writes: made here, not shipped to the service
            result = {"reminded": await _write_in_steps(repository, result["writes"], claim)}
        return await _keep_documents(repository, kind, result)
    finally:
        await repository.close()


async def _write_in_steps(repository: Repository, writes: list[list[Any]], claim: Claim) -> int:
    """Replay the recorded writes a few units per transaction, each only while the job is still
    this worker's (its lease renewed); the number of steps written. Were the process to die
    half-way, the job runs again on a new snapshot, where the units done are no longer due."""
    job_id, owner = claim
    steps = 0
    for chunk in _by_unit(writes, WRITES_PER_STEP):

        async def step(tx: Transaction, chunk: list[list[Any]] = chunk) -> bool:
            lease = datetime.now(UTC) + LEASE
            if job_id and not await tx.renew_job(job_id, owner, lease):
                return False
            await apply_writes(tx, chunk)
            return True

        if not await retrying(repository, step):
            break  # the lease ran out: another worker has the job now
        steps += 1
        await asyncio.sleep(STEP_PAUSE)  # SQLite has no fair lock: leave room for the turns
    return steps


async def _keep_documents(repository: Repository, kind: str, result: Result) -> Result:
    """Copy each file the job produced into the store (`put_document`), its id beside its
    path: the process that sends it, or serves its download link, may run on another machine.
    A job run twice keeps a second copy; only the run that finishes is sent."""

    async def keep(path: str, name: str) -> str:
        data = await asyncio.to_thread(Path(path).read_bytes)
        return await retrying(repository, lambda tx: tx.put_document(name, data))

    if kind == REPORT:
        rows = result["files"] if "files" in result else [result["file"]]
        files = [[path, name, caption, await keep(path, name)] for path, name, caption, *_ in rows]
        return {**result, "files": files}
    if kind == OVERVIEW:
        for reply in result.get("replies", []):
            reply["files"] = [
                [path, name, caption, await keep(path, name)]
                for path, name, caption, *_ in reply.get("files", [])
            ]
    return result


async def _report(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    """Render the assessment's dossier as it is stored (as submitted, once submitted): every
    document the unit files, sent together."""
    assessment = await tx.get_assessment_by_id(int(payload["assessment_id"]))
    unit = await tx.get_unit(assessment.unit_id) if assessment else None
    if assessment is None or unit is None:
        raise StorageError(f"no assessment {payload['assessment_id']} to report")
    today = assessment.submitted_on or datetime.now(VIETNAM).date()
    work = Working.of(unit, assessment)
    data = await report_data(tx, work, today)
    files = write_reports(settings.reports_dir, assessment, data)
    return {"files": [[str(file.path), file.name, file.caption] for file in files]}


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


WRITES_PER_STEP = 30  # writes replayed per transaction: about a millisecond of the write lock
STEP_PAUSE = 0.02  # seconds between steps: the service's turns take the write lock meanwhile
LEASE = timedelta(minutes=10)  # as bot.jobs claims: renewed at each step of a long job


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
        rows = result["files"] if "files" in result else [result["file"]]  # a job of before
        files = tuple(OutgoingFile(Path(path), name, caption, *document)
                      for path, name, caption, *document in rows)  # fmt: skip
        for to in _recipients(job):
            await send(tx, to, [Reply("", files=files)])
    elif job.kind == OVERVIEW:
        for to in _recipients(job):
            await send(tx, to, replies_from_json(result))
    # REMINDERS: nothing left to record, the job wrote its own result (`_write_in_steps`)


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
