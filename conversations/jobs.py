"""The kinds of job: heavy work a turn decides, done after its commit off the event loop.

A turn only reads and writes rows (storage.base explains why: it may be re-run). What is heavy
(rendering a report, building the supervising unit's workbook, going over every unit for
reminders) the turn writes as a job with `queue_*` below, in its own transaction. The worker
(bot.jobs) then calls `run` in a separate process, which reads a snapshot of the store and does
the work, and `finish` back in the service, which records the result in one transaction: the
messages it makes go to the outbox. Each kind is a pair of functions over plain JSON, so a job
row means the same thing in any process and after any restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from conversations.events import OutgoingFile, Reply, replies_from_json, replies_to_json
from conversations.settings import Settings
from storage import open_repository
from storage.base import Job, Transaction
from templates.text import t

REPORT = "report"
OVERVIEW = "overview"
REMINDERS = "reminders"

Result = dict[str, Any]
Runner = Callable[[Transaction, dict[str, Any], Settings], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a job's result goes: a person's chat on a channel."""

    person_id: int | None
    channel: str
    chat_id: str

    def as_json(self) -> list[Any]:
        return [self.person_id, self.channel, self.chat_id]


def _recipient(item: list[Any]) -> Recipient:
    person_id, channel, chat_id = item
    return Recipient(person_id, str(channel), str(chat_id))


# --- queued by turns --------------------------------------------------------------------------


async def queue_report(
    tx: Transaction, assessment_id: int, recipients: list[Recipient], channel: str
) -> None:
    """The assessment's report (.docx), rendered after the commit and sent to `recipients`
    (the one who submitted, the leaders …) by the process running `channel`."""
    payload = {"assessment_id": assessment_id, "to": [r.as_json() for r in recipients]}
    await tx.enqueue_job(REPORT, payload, channel=channel)


async def queue_overview(
    tx: Transaction, supervisor_id: int, year: int, today: date, to: Recipient
) -> None:
    """The supervising unit's overview of `year`: the counts message and the workbook."""
    payload = {
        "supervisor_id": supervisor_id,
        "year": year,
        "today": today.isoformat(),
        "to": to.as_json(),
    }
    await tx.enqueue_job(OVERVIEW, payload, channel=to.channel)


async def queue_reminders(tx: Transaction, now: datetime, every_minutes: int) -> None:
    """The reminder pass of the current period (once, whichever process asks first)."""
    period = int(now.timestamp() // (max(every_minutes, 1) * 60))
    payload = {"now": now.isoformat()}
    await tx.enqueue_job(REMINDERS, payload, dedup_key=f"reminders:{period}")


# --- run in the worker process ----------------------------------------------------------------


def run(kind: str, url: str, payload: dict[str, Any], settings: Settings) -> Result:
    """Do the job `kind` on a snapshot of the store at `url` (in the worker's process or
    thread: it opens its own connection and event loop)."""
    return asyncio.run(_run(kind, url, payload, settings))


async def _run(kind: str, url: str, payload: dict[str, Any], settings: Settings) -> Result:
    runner = RUNNERS[kind]
    repository = await open_repository(url, migrate=False)
    try:
        async with repository.snapshot() as tx:
            return await runner(tx, payload, settings)
    finally:
        await repository.close()


async def _run_report(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    from conversations.job_work import render_report_file

    file = await render_report_file(tx, int(payload["assessment_id"]), settings)
    return {"file": [str(file.path), file.name, file.caption]}


async def _run_overview(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    from conversations.job_work import overview_reply

    today = date.fromisoformat(str(payload["today"]))
    reply = await overview_reply(tx, int(payload["supervisor_id"]), int(payload["year"]), today, settings)
    return replies_to_json([reply])


async def _run_reminders(tx: Transaction, payload: dict[str, Any], settings: Settings) -> Result:
    from conversations.job_work import plan_reminders

    now = datetime.fromisoformat(str(payload["now"]))
    return {"writes": await plan_reminders(tx, now, settings)}


RUNNERS: dict[str, Runner] = {
    REPORT: _run_report,
    OVERVIEW: _run_overview,
    REMINDERS: _run_reminders,
}


# --- finished in the service ------------------------------------------------------------------


async def finish(tx: Transaction, job: Job, result: Result, settings: Settings) -> None:
    """Record what job `job` produced (in the transaction that marks it done)."""
    if job.kind == REPORT:
        path, name, caption = result["file"]
        file = OutgoingFile(Path(path), name, caption)
        for recipient in map(_recipient, job.payload["to"]):
            await _send(tx, recipient, [Reply("", files=(file,))])
    elif job.kind == OVERVIEW:
        await _send(tx, _recipient(job.payload["to"]), replies_from_json(result), split=True)
    elif job.kind == REMINDERS:
        from conversations.job_work import apply_writes

        await apply_writes(tx, result["writes"])


async def give_up(tx: Transaction, job: Job, settings: Settings) -> None:
    """The job failed every run: the people waiting for it are told, nothing is left hanging."""
    to = job.payload.get("to")
    if to is None:
        return
    recipients = [to] if job.kind == OVERVIEW else to
    for recipient in map(_recipient, recipients):
        await _send(tx, recipient, [Reply(t(f"job.failed.{job.kind}"))])


async def _send(
    tx: Transaction, to: Recipient, replies: list[Reply], *, split: bool = False
) -> None:
    """Queue `replies` for `to`; `split`: the text and each file as their own rows, so that a
    retry never repeats a part already delivered."""
    parts = replies
    if split:
        parts = []
        for reply in replies:
            parts += [Reply(reply.text, reply.choices)] if reply.text else []
            parts += [Reply("", files=(file,)) for file in reply.files]
    for part in parts:
        await tx.enqueue(to.person_id, to.channel, to.chat_id, replies_to_json([part]))

