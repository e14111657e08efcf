"""Jobs a turn queues: heavy work decided in a turn and done after its commit.

A turn only reads and writes rows (storage.base says why: it may be re-run). What is heavy,
rendering a report, building the supervising unit's workbook, going over every unit for
reminders, the turn writes as a job with a `queue_*` function below, in its own transaction;
`conversations.background` says how each kind is done and what it sends. A job is plain JSON,
so it means the same in any process and after any restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.base import Transaction

REPORT = "report"
OVERVIEW = "overview"
REMINDERS = "reminders"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a job's result goes: a person's chat on a channel."""

    person_id: int | None
    channel: str
    chat_id: str

    def as_json(self) -> list[Any]:
        return [self.person_id, self.channel, self.chat_id]

    @classmethod
    def from_json(cls, item: list[Any]) -> Recipient:
        person_id, channel, chat_id = item
        return cls(None if person_id is None else int(person_id), str(channel), str(chat_id))


async def queue_report(
    tx: Transaction, assessment_id: int, recipients: list[Recipient], channel: str
) -> None:
    """The assessment's report (.docx), rendered after the commit by a process running
    `channel` and sent to each of `recipients` (the submitter, the leaders …)."""
    payload = {"assessment_id": assessment_id, "to": [r.as_json() for r in recipients]}
    await tx.enqueue_job(REPORT, payload, channel=channel)


async def queue_overview(
    tx: Transaction, supervisor_id: int, year: int, today: date, to: Recipient
) -> None:
    """The supervising unit's overview of `year` for `to`: the counts message and the .xlsx."""
    payload = {
        "supervisor_id": supervisor_id,
        "year": year,
        "today": today.isoformat(),
        "to": [to.as_json()],
    }
    await tx.enqueue_job(OVERVIEW, payload, channel=to.channel)


async def queue_reminders(tx: Transaction, now: datetime, every_minutes: int) -> None:
    """The reminder pass of the current period: queued once, whichever process asks first."""
    period = int(now.timestamp() // (max(every_minutes, 1) * 60))
    await tx.enqueue_job(REMINDERS, {"now": now.isoformat()}, dedup_key=f"reminders:{period}")
