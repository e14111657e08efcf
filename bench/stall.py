"""Whether the heavy jobs stall the chat: turn latency and the event loop's longest stall, with
and without the supervising level's work running beside the answers.

    python -m bench.stall [--units 10000] [--people 32] [--seconds 10] [--repeat 1]

One database: a supervising unit with `--units` units under it (a quarter submitted with every
answer, a quarter fully answered, a quarter half answered, a quarter not started on the
questionnaire: three quarters are in progress, and the date is 6 days before the TT 22 filing
deadline, so each of them is due a reminder), and `--people` people apart, each with a unit of
their own and an open assessment. Each person answers without pause through `Engine.handle`
(the whole turn with its durable commit; no Telegram decoding): a typed score, which moves to the
next question, and once 16 are answered a score then "quay lại" to the same question again.

- phase A: the people answer for `--seconds`, nothing else running;
- phase B: at its start one `/tonghop` overview of the `--units` units, one reminder pass over
  every unit and 20 report jobs are queued in one transaction and run by a real
  `bot.jobs.JobWorker` with `bot.jobs.process_executor()` (the heavy part in the other
  process; the job's claim and its result's transaction on this loop), while the people answer
  for `--seconds` again.

Each phase gives its turns, p50/p99/max turn latency, and the loop's longest stall: a task
sleeping 1 ms in a loop, the most `loop.time()` overshot. The jobs' times are split into the
job process's part and the finishing transaction on this loop. Jobs still running when phase
B's answering ends are waited for (the stall monitor still on) and said so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.common import percentile
from bench.report import SCORES
from bot.jobs import JobWorker, process_executor
from bot.service import settle_garbage_collector
from conversations import jobs
from conversations.engine import Engine
from conversations.events import Event, EventKind, Sender
from conversations.settings import Settings
from storage import open_repository
from storage.base import ChatState, Job, Repository, Transaction

CHANNEL = "telegram"
TODAY = date(2024, 3, 25)  # 6 days before TT 22's filing deadline for 2023: reminders daily
NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
YEAR = 2023
REPORTS = 20
ANSWERED = 16  # then the same question again: never the 17th, which ends the questionnaire
WARM_TURNS = 64  # turns of each person before phase A (templates compiled, paths taken)
PEOPLE_CHATS = 1_000_000  # the people's chat ids start above every unit's
STALL_TARGET_MS = 20.0
P99_TARGET_MS = 25.0


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    supervisor_id: int
    boss: jobs.Recipient
    reports: list[tuple[int, jobs.Recipient]]  # submitted assessments and their submitters
    people: list[str]  # the chat ids of the people who answer
    seconds: float


async def _unit(tx: Transaction, name: str, chat: str, supervisor: int | None) -> tuple[int, int]:
    """A unit, its staff member, and their chat at question 1a of an open TT 22 assessment (as
    `bench.common.seed_units`, with chat ids of one's own); (assessment id, person id)."""
    unit = await tx.create_unit(name, "co-quan", "cap-huyen")
    if supervisor is not None:
        await tx.update_unit(unit.id, {"supervisor_id": supervisor})
    person = await tx.upsert_person(CHANNEL, chat, f"U{chat}")
    await tx.add_membership(unit.id, person.id, "staff")
    assessment = await tx.create_assessment(unit.id, "tt22-2020", YEAR)
    data = {"assessment_id": assessment.id, "code": "1a"}
    await tx.save_chat(ChatState(CHANNEL, chat, person.id, "ask", data, "", unit.id))
    return assessment.id, person.id


async def seed(repo: Repository, units: int, people: int) -> Seeded:
    began = time.perf_counter()
    async with repo.transaction() as tx:
        supervisor = await tx.create_unit("Sở Giáo dục và Đào tạo", "co-quan", "cap-tinh")
        await tx.update_unit(supervisor.id, {"supervises": True})
        boss = await tx.upsert_person(CHANNEL, "boss", "Giám đốc Sở")
        await tx.add_membership(supervisor.id, boss.id, "supervisor")
    codes = list(SCORES)
    reports: list[tuple[int, jobs.Recipient]] = []
    for start in range(1, units + 1, 1000):  # transactions of 1,000 units
        async with repo.transaction() as tx:
            for n in range(start, min(start + 1000, units + 1)):
                chat = str(n)
                assessment, person = await _unit(tx, f"Đơn vị số {n}", chat, supervisor.id)
                share = n % 4  # 0 submitted, 1 all answered, 2 half answered, 3 none
                for code in codes if share < 2 else codes[: len(codes) // 2] if share < 3 else ():
                    await tx.put_answer(assessment, code, str(SCORES[code]), person)
                if share == 0:
                    await tx.record_submission(assessment, person, date(2024, 3, 20), None)
                    if len(reports) < REPORTS:
                        reports.append((assessment, jobs.Recipient(person, CHANNEL, chat)))
    chats = [str(PEOPLE_CHATS + n) for n in range(1, people + 1)]
    async with repo.transaction() as tx:
        for chat in chats:
            await _unit(tx, f"Đơn vị của người trả lời {chat}", chat, None)
    return Seeded(
        supervisor.id,
        jobs.Recipient(boss.id, CHANNEL, "boss"),
        reports,
        chats,
        time.perf_counter() - began,
    )


# --- the people answering ---------------------------------------------------------------------


@dataclass
class Answerer:
    """One person typing a score to each question in turn (one message an answer, which moves to
    the next question), then once 16 are answered "quay lại" after each score, back to the 16th."""

    chat: str
    answered: int = 0
    scored: int = 0  # score turns
    saved: int = 0  # score turns whose replies said the answer was saved


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    stall: float = 0.0
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (at, overshoot) > 5 ms
    seconds: float = 0.0
    scored: int = 0
    saved: int = 0


def texts(who: Answerer) -> tuple[str, ...]:
    """What `who` types next: a score, and "quay lại" after the 16th (never the 17th)."""
    score = random.choice("0123")
    return (score, "quay lại") if who.answered + 1 >= ANSWERED else (score,)


class Driver:
    def __init__(self, engine: Engine, people: list[str], pace: float = 0.0) -> None:
        self.engine = engine
        self.people = [Answerer(chat) for chat in people]
        self.ids = itertools.count(1)
        self.pace = pace  # seconds a person takes between messages (0: none, the loop saturated)

    async def turn(self, who: Answerer, text: str) -> list[Any]:
        event = Event(CHANNEL, who.chat, Sender(who.chat, f"U{who.chat}"), EventKind.TEXT, text,
                      f"u{next(self.ids)}")  # fmt: skip
        return await self.engine.handle(event)

    async def answer(self, who: Answerer, until: Callable[[], bool], phase: Phase | None) -> None:
        """`who` answers until `until` (perf_counter); each turn's latency into `phase`."""
        if self.pace:  # people do not all start typing in the same millisecond
            await asyncio.sleep(random.uniform(0, self.pace))
        while until():
            for text in texts(who):
                began = time.perf_counter()
                replies = await self.turn(who, text)
                if phase is not None:
                    phase.latencies.append(time.perf_counter() - began)
                if text.isdigit():
                    saved = any(r.text.startswith("✅ Đã lưu") for r in replies)
                    who.answered += 1
                    if phase is not None:
                        phase.scored += 1
                        phase.saved += saved
                if self.pace:  # people read the question before answering
                    await asyncio.sleep(self.pace * random.uniform(0.5, 1.5))

    async def run(
        self,
        seconds: float,
        phase: Phase | None,
        jobs_done: asyncio.Event | None = None,
        limit: float = 0.0,
    ) -> float:
        """Answer for `seconds`, and on until `jobs_done` is set (at most `limit` seconds)."""
        began = time.perf_counter()

        def until() -> bool:
            now = time.perf_counter()
            if now < began + seconds:
                return True
            return jobs_done is not None and not jobs_done.is_set() and now < began + limit

        await asyncio.gather(*(self.answer(who, until, phase) for who in self.people))
        return time.perf_counter() - began


class Why:
    """`--why`: what the loop was doing while it stalled. A thread samples the loop thread's
    stack whenever the loop has not come round for 15 ms, and the garbage collector's pauses
    are timed."""

    def __init__(self) -> None:
        self.tick = time.perf_counter()  # the loop came round (set by `watch`)
        self.watching = False
        self.stacks: Counter[tuple[str, ...]] = Counter()
        self.gc: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._gc_began = 0.0
        self._thread = threading.get_ident()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Why:
        gc.callbacks.append(self._collected)
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._sampler.join()
        gc.callbacks.remove(self._collected)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
        else:
            self.gc[info["generation"]].append(time.perf_counter() - self._gc_began)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            if not self.watching or time.perf_counter() - self.tick < 0.015:
                continue
            frame = sys._current_frames().get(self._thread)
            where = []
            while frame is not None and len(where) < 8:
                code = frame.f_code
                name = Path(code.co_filename)
                where.append(f"{name.parent.name}/{name.name}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            self.stacks[tuple(where)] += 1

    def lines(self) -> list[str]:
        lines = []
        for generation, pauses in self.gc.items():
            if pauses:
                longest, spent = max(pauses) * 1000, sum(pauses) * 1000
                lines.append(f"gc generation {generation}: {len(pauses)} collections, longest "
                             f"{longest:.1f} ms, {spent:.0f} ms in all")  # fmt: skip
        total = sum(self.stacks.values())
        lines.append(f"loop thread sampled every 2 ms while stalled ≥ 15 ms: {total} samples")
        for stack, count in self.stacks.most_common(6):
            lines.append(f"  {count} × " + " ← ".join(stack))
        return lines


WHY: Why | None = None


async def watch(phase: Phase, stop: asyncio.Event, origin: float) -> None:
    """The loop's longest stall: sleep 1 ms, again and again; the most it overshot."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        if WHY is not None:
            WHY.tick, WHY.watching = time.perf_counter(), True
        before = loop.time()
        await asyncio.sleep(0.001)
        over = loop.time() - before - 0.001
        if over > phase.stall:
            phase.stall = over
        if over > 0.005:
            phase.stalls.append((time.perf_counter() - origin, over))
    if WHY is not None:
        WHY.watching = False


async def measured(
    driver: Driver,
    phase: Phase,
    seconds: float,
    origin: float | None = None,
    jobs_done: asyncio.Event | None = None,
    limit: float = 0.0,
) -> Phase:
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(phase, stop, origin or time.perf_counter()))
    try:
        phase.seconds = await driver.run(seconds, phase, jobs_done, limit)
    finally:
        stop.set()
        await watcher
    return phase


# --- the jobs ---------------------------------------------------------------------------------


class TimedExecutor(Executor):
    """The job process, noting when each of its results came back (its own thread's clock)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.returned: float = 0.0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self.inner.submit(fn, *args, **kwargs)
        future.add_done_callback(self._note)
        return future

    def _note(self, _: Future[Any]) -> None:
        self.returned = time.perf_counter()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait, cancel_futures=cancel_futures)


@dataclass
class JobTime:
    kind: str
    started: float  # claimed, sent to the job process
    returned: float  # its result back
    finished: float  # the finishing transaction committed

    @property
    def wall(self) -> float:
        return self.finished - self.started

    @property
    def finishing(self) -> float:
        return self.finished - self.returned


class TimedWorker(JobWorker):
    """The real worker; each job's times noted around its run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.times: list[JobTime] = []
        self.all_done = asyncio.Event()
        self.expected = 0

    async def _run(self, job: Job) -> None:
        began = time.perf_counter()
        await super()._run(job)
        assert isinstance(self.executor, TimedExecutor)
        self.times.append(JobTime(job.kind, began, self.executor.returned, time.perf_counter()))
        if len(self.times) >= self.expected:
            self.all_done.set()


async def queue_all(repo: Repository, seeded: Seeded) -> int:
    """The overview, the reminder pass and the reports, queued in one transaction."""
    async with repo.transaction() as tx:
        await jobs.queue_overview(tx, seeded.supervisor_id, YEAR, TODAY, seeded.boss)
        await jobs.queue_reminders(tx, NOW, 60)
        for assessment, to in seeded.reports:
            await jobs.queue_report(tx, assessment, [to], CHANNEL)
    return 2 + len(seeded.reports)


def warm_job_process() -> int:
    """Run in the job process before phase A: it is started and has imported the jobs' code (a
    service that has run a while)."""
    import conversations.background  # noqa: F401

    return os.getpid()


# --- one run ----------------------------------------------------------------------------------


@dataclass
class Run:
    units: int
    seeding: float
    a: Phase
    b: Phase
    after: Phase  # answering over, jobs still running
    jobs: list[JobTime]
    expected: int
    queued_at: float
    reminded: int
    replayed: int


async def run(
    folder: Path,
    units: int,
    people: int,
    seconds: float,
    job_timeout: float,
    freeze: bool,
    pace: float = 0.0,
) -> Run:
    path = folder / f"stall-{time.monotonic_ns()}.sqlite3"
    repo = await open_repository(path)
    settings = Settings(reports_dir=folder / "reports")
    try:
        seeded = await seed(repo, units, people)
        engine = Engine(repo, settings, today=lambda: TODAY)
        driver = Driver(engine, seeded.people)
        for who in driver.people:  # warm up: as many turns each, not measured
            for _ in range(WARM_TURNS // 2):
                for text in texts(who):
                    await driver.turn(who, text)
                    who.answered += text.isdigit()
        driver.pace = pace  # warmed up as fast as it goes; measured at the people's pace
        with process_executor() as pool:
            executor = TimedExecutor(pool)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, warm_job_process)
            if freeze:  # as the service does once started (bot.service)
                settle_garbage_collector()
            worker = TimedWorker(repo, settings, [CHANNEL], executor)
            await worker.start()
            engine.on_queued = worker.wake
            stop = asyncio.Event()
            runner = asyncio.create_task(worker.run(stop))
            try:
                a = await measured(driver, Phase("A: answers alone"), seconds)
                worker.expected = await queue_all(repo, seeded)
                queued_at = time.perf_counter()
                worker.wake()
                b = await measured(  # answering on until every job is done
                    driver,
                    Phase("B: with the jobs"),
                    seconds,
                    queued_at,
                    worker.all_done,
                    job_timeout,
                )
                after = Phase("after B's answers")
                if not worker.all_done.is_set():
                    halt = asyncio.Event()
                    watcher = asyncio.create_task(watch(after, halt, queued_at))
                    began = time.perf_counter()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(worker.all_done.wait(), job_timeout)
                    after.seconds = time.perf_counter() - began
                    halt.set()
                    await watcher
            finally:
                stop.set()
                worker.wake()
                await runner
        await repo.close()
        reminded, replayed = reminder_counts(path)
        return Run(units, seeded.seconds, a, b, after, worker.times, worker.expected,
                   queued_at, reminded, replayed)  # fmt: skip
    finally:
        await repo.close()


def reminder_counts(path: Path) -> tuple[int, int]:
    """Units the pass reminded, and the writes its result replayed (the reminder rows, their log
    lines and the messages queued), read back from the file once the run is over."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        reminded = db.execute("SELECT count(*) FROM reminders").fetchone()[0]
        logged = db.execute("SELECT count(*) FROM events WHERE kind = 'reminder.sent'").fetchone()[
            0
        ]
        messages = db.execute(
            "SELECT count(*) FROM outbox WHERE payload LIKE '%Nhắc việc%'"
        ).fetchone()[0]
    return int(reminded), int(reminded + logged + messages)


# --- printing ---------------------------------------------------------------------------------


def row(phase: Phase) -> str:
    if not phase.latencies:
        return f"{phase.name:<20} {'—':>7}"
    ms = [x * 1000 for x in phase.latencies]
    return (
        f"{phase.name:<20} {len(ms):>7,} {len(ms) / phase.seconds:>8,.0f} "
        f"{statistics.median(ms):>7.2f} {percentile(ms, 0.99):>7.2f} {max(ms):>8.2f} "
        f"{phase.stall * 1000:>9.2f}"
    )


def report(result: Run, people: int) -> str:
    header = (f"{'phase':<20} {'turns':>7} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>8} {'stall ms':>9}")  # fmt: skip
    lines = [
        f"{result.units:,} units under one supervising unit, {people} people answering "
        f"(seeded in {result.seeding:.1f} s)",
        header,
        row(result.a),
        row(result.b),
        f"{'target in B':<20} {'':>7} {'':>8} {'':>7} {P99_TARGET_MS:>7.0f} {'':>8} "
        f"{STALL_TARGET_MS:>9.0f}",
    ]
    for phase in (result.a, result.b):
        if phase.scored != phase.saved:
            lines.append(f"  {phase.name}: only {phase.saved} of {phase.scored} scores saved!")
    b99 = percentile(result.b.latencies, 0.99) * 1000 if result.b.latencies else float("inf")
    lines.append(
        f"phase B: p99 {b99:.1f} ms {'≤' if b99 <= P99_TARGET_MS else '>'} {P99_TARGET_MS:.0f}"
        f" ({'met' if b99 <= P99_TARGET_MS else 'MISSED'}), longest stall "
        f"{result.b.stall * 1000:.1f} ms "
        f"{'≤' if result.b.stall * 1000 <= STALL_TARGET_MS else '>'} {STALL_TARGET_MS:.0f} "
        f"({'met' if result.b.stall * 1000 <= STALL_TARGET_MS else 'MISSED'})"
    )
    if result.after.seconds:
        lines.append(
            f"jobs outlasted B's answering by {result.after.seconds:.1f} s; longest stall "
            f"meanwhile (no turns) {result.after.stall * 1000:.1f} ms"
        )
    lines += jobs_lines(result)
    stalls = sorted(result.b.stalls + result.after.stalls, key=lambda s: -s[1])[:5]
    if stalls:
        spans = ", ".join(f"{over * 1000:.1f} ms at +{at:.2f} s" for at, over in stalls)
        lines.append(f"longest stalls in B (since the jobs were queued): {spans}")
    return "\n".join(lines)


def jobs_lines(result: Run) -> list[str]:
    done = result.jobs
    lines = [f"jobs: {len(done)} of {result.expected} done"]
    origin = result.queued_at

    def span(job: JobTime) -> str:
        return (f"{job.wall:.2f} s (+{job.started - origin:.2f} → +{job.finished - origin:.2f} s;"
                f" job process {job.returned - job.started:.2f} s, finishing on the loop "
                f"{job.finishing * 1000:.0f} ms)")  # fmt: skip

    for job in done:
        if job.kind == jobs.OVERVIEW:
            lines.append(f"  overview of {result.units:,} units: {span(job)}")
        elif job.kind == jobs.REMINDERS:
            lines.append(f"  reminder pass: {span(job)}; {result.reminded:,} units reminded, "
                         f"~{result.replayed:,} writes replayed")  # fmt: skip
    reports = [job for job in done if job.kind == jobs.REPORT]
    if reports:
        walls = [job.wall * 1000 for job in reports]
        finishing = [job.finishing * 1000 for job in reports]
        lines.append(
            f"  {len(reports)} reports: {reports[-1].finished - reports[0].started:.2f} s in all "
            f"(each p50 {statistics.median(walls):.0f} ms, max {max(walls):.0f} ms; finishing "
            f"p50 {statistics.median(finishing):.1f} ms)"
        )
    if done:
        last = max(job.finished for job in done)
        lines.append(f"  queued → last job done: {last - origin:.2f} s")
    return lines


def main() -> None:
    global WHY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="of answering, each phase")
    parser.add_argument("--repeat", type=int, default=1, help="runs (each seeded afresh)")
    parser.add_argument(
        "--job-timeout", type=float, default=120.0, help="most seconds to wait for jobs after B"
    )
    parser.add_argument(
        "--no-gc-settle",
        dest="gc_freeze",
        action="store_false",
        help="leave the garbage collector as Python starts it (the service settles it)",
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=0.5,
        help="seconds each person takes between messages, ±50%% (0: as fast as the bot answers)",
    )
    parser.add_argument("--why", action="store_true", help="sample the loop while it stalls")
    args = parser.parse_args()
    if args.units < 4 * REPORTS:
        parser.error(
            f"--units: at least {4 * REPORTS} (a quarter are submitted, {REPORTS} reported)"
        )
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        for _ in range(max(1, args.repeat)):
            with Why() if args.why else contextlib.nullcontext() as WHY:
                result = asyncio.run(
                    run(
                        Path(folder),
                        args.units,
                        args.people,
                        args.seconds,
                        args.job_timeout,
                        args.gc_freeze,
                        args.pace,
                    )
                )
            gc.unfreeze()
            print(report(result, args.people), flush=True)
            if WHY is not None:
                print("\n".join(WHY.lines()), flush=True)


if __name__ == "__main__":
    main()
