"""Running the jobs: heavy work that a turn decided and recorded, done after its commit.

A turn only reads and writes rows; rendering a report, building a workbook or going over every
unit is written as a job row in the turn's transaction (see `conversations.jobs` for the kinds).
This worker claims due jobs of the channels its process holds, runs each in an executor (a
separate process by default, so neither the event loop nor the GIL is held by it) where the job
reads its own snapshot of the store, then records the outcome in one transaction: the job done,
and the messages its result makes, in the outbox. A job whose process died mid-run is claimed
again (at start for the channels taken, or when its lease runs out), so a person gets one report.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.outbox import pause
from conversations import background as kinds
from conversations.settings import Settings
from storage.base import Job, Repository, Transaction, retrying

log = logging.getLogger(__name__)

LEASE = kinds.LEASE  # a claimed job not finished by then is taken again (renewed by long jobs)
BACKOFF = (5, 30, 120, 600)  # seconds before runs 2, 3, …
MAX_ATTEMPTS = 5  # then the job is given up and the person told


def process_executor() -> Executor:
    """One separate process for jobs (the machine's other core): started fresh ("spawn"), never
    forked from a process that has threads and open connections."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to run a job again after its `attempts`-th failed run (None: give up)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=BACKOFF[min(attempts - 1, len(BACKOFF) - 1)])


class JobWorker:
    """Claims and runs the due jobs of `channels`, one at a time per worker."""

    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        channels: Sequence[str],
        executor: Executor,
        *,
        interval: float = 0.5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_done: Callable[[], None] = lambda: None,
        new_executor: Callable[[], Executor] | None = None,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self.channels = list(channels)
        self.executor = executor
        self.interval = interval
        self.clock = clock
        self.on_done = on_done  # e.g. wake the outbox: the job's messages are due now
        self.new_executor = new_executor  # a fresh executor when the old one broke
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was just committed: look now rather than at the next interval."""
        self._wake.set()

    async def start(self) -> int:
        """Take back the jobs this process's channels left running when their process died."""
        return await retrying(self.repository, lambda tx: tx.release_jobs(self.channels))

    async def run_once(self) -> bool:
        """Run one due job, if any; False when there was none."""
        now = self.clock()
        job = await retrying(
            self.repository, lambda tx: tx.claim_job(self.channels, self.owner, now, now + LEASE)
        )
        if job is None:
            return False
        await self._run(job)
        return True

    async def drain(self, limit: int = 1000) -> int:
        """Run due jobs until none is left (the console, and tests); the number run."""
        count = 0
        while count < limit and await self.run_once():
            count += 1
        return count

    async def _run(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        try:
            work = partial(kinds.run, claim=(job.id, self.owner))
            url = self.repository.url
            result = await loop.run_in_executor(
                self.executor, work, job.kind, url, job.payload, self.settings
            )
        except BrokenExecutor as exc:  # the job's process died (a crash, the OOM killer)
            self._renew_executor()
            await self._failed(job, exc)
            return
        except Exception as exc:  # the job's own failure: try again later, then give up
            await self._failed(job, exc)
            return

        async def done(tx: Transaction) -> None:  # what it produced, with the job marked done
            if await tx.job_done(job.id, self.owner):
                await kinds.finish(tx, job, result, self.settings)

        await retrying(self.repository, done)
        self.on_done()

    def _renew_executor(self) -> None:
        """A process pool whose process died refuses every later job: start a new one."""
        if self.new_executor is None:
            return
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self.new_executor()
        log.warning("the job process died; a new one is started")

    async def _failed(self, job: Job, exc: Exception) -> None:
        attempts = job.attempts + 1
        again = retry_at(attempts, self.clock())
        log.warning("job %d (%s) failed on run %d: %r", job.id, job.kind, attempts, exc)

        async def record(tx: Transaction) -> None:
            await tx.job_failed(job.id, self.owner, type(exc).__name__, again)
            if again is None:
                await kinds.give_up(tx, job, self.settings)

        await retrying(self.repository, record)
        self.on_done()

    async def run(self, stop: asyncio.Event) -> None:
        """Run jobs until `stop` is set: at once when woken, else every `interval` seconds."""
        while not stop.is_set():
            self._wake.clear()
            try:
                while not stop.is_set() and await self.run_once():
                    pass
            except Exception:
                log.exception("job pass failed; trying again")
            await pause(stop, self._wake, self.interval)
