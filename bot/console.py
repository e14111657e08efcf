"""The terminal console: a chat on standard input and output, scriptable with a pipe.

Each line is one message from the user. End of input or Ctrl-C leaves everything saved (every
answer was committed before its confirmation was printed); running it again with the same
database and user resumes the unit's assessment where it stopped. After each line the console
runs the jobs that line queued (a report, a workbook) and prints what they send to this chat,
so a person trying it reads the report's path right after the submission. The supervising
level's page is served on a loopback port (`bot.webpage.LocalPages`): /tonghop prints its local
address, so a newcomer sees it in a browser without any token or public address.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.jobs import JobWorker
from bot.outbox import OutboxWorker
from bot.textrender import render_text
from bot.webpage import LocalPages
from conversations.engine import Engine
from conversations.events import Event, EventKind, Reply, Sender
from conversations.settings import Settings
from storage import open_repository
from storage.base import ChannelHeld, StorageError
from storage.postgres import is_postgres, redacted
from templates.text import t

CHANNEL = "console"


class ConsoleChannel:
    """The outbox's way into this terminal: messages for this console's user are printed;
    those for another console user wait for that user's console."""

    name = CHANNEL

    def __init__(self, user: str, out: TextIO) -> None:
        self.user = user
        self.out = out

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        if chat_id != self.user:
            raise LookupError("another console user's message")
        _print(replies, self.out)


def _print(replies: Iterable[Reply], out: TextIO) -> None:
    for reply in replies:
        out.write(render_text(reply) + "\n\n")
    out.flush()


def run_console(
    db_path: Path | str,
    user: str,
    data_dir: Path,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Chat on `stdin`/`stdout` until end of input or Ctrl-C; the exit status (2: it could not
    start, said in one line on stderr).

    Lines are read on the main thread (not in an executor) so Ctrl-C interrupts a waiting read at
    once; each line is handled to completion, committed, then printed, then its jobs run (in a
    thread: this terminal has one person, whom nobody else waits behind).
    """
    with asyncio.Runner() as runner, ThreadPoolExecutor(max_workers=1) as executor:
        try:
            repository = runner.run(open_repository(db_path))
        except StorageError:
            unreachable = is_postgres(str(db_path))
            key = "service.db_unreachable" if unreachable else "service.data_unwritable"
            print(t(key, detail=redacted(str(db_path))), file=sys.stderr)
            return 2
        try:
            runner.run(repository.hold_channels([CHANNEL]))
        except (ChannelHeld, StorageError):
            runner.run(repository.close())
            print(t("console.held"), file=sys.stderr)
            return 2
        # Reports are kept beside the database they belong to (a PostgreSQL one: in the data
        # folder). Whoever runs the console holds its database already: they may create
        # supervising units in it (/taocaptren), so a newcomer can try the supervising page too.
        home = data_dir if is_postgres(str(db_path)) else Path(db_path).parent
        settings = Settings(reports_dir=home / "reports", admins=frozenset({f"{CHANNEL}:{user}"}))
        pages = LocalPages(repository.url, settings, data_dir)  # the page, on this machine only
        settings = replace(settings, page_links=pages.start())
        engine = Engine(repository, settings)
        jobs = JobWorker(repository, settings, [CHANNEL], executor)
        outbox = OutboxWorker(repository, {CHANNEL: ConsoleChannel(user, stdout)})
        sender = Sender(id=user, name=user)

        async def turn(kind: EventKind, text: str) -> bool:
            """One message; True when the question it leaves asks for several lines."""
            replies = await engine.handle(Event(CHANNEL, user, sender, kind, text))
            multiline = bool(replies) and replies[-1].multiline
            if multiline:
                replies = [*replies, Reply(t("console.multiline"))]
            _print(replies, stdout)
            await jobs.drain()
            await outbox.run_once()
            return multiline

        try:
            runner.run(jobs.start())
            multiline = runner.run(turn(EventKind.COMMAND, "start"))
            while line := _read(stdin, stdout):
                text = line.rstrip("\r\n") or " "  # an empty line is a message: it gets a hint
                if multiline:
                    text = _rest_of_text(text, stdin, stdout)
                multiline = runner.run(turn(EventKind.TEXT, text))
        except KeyboardInterrupt:
            stdout.write("\n")
        finally:
            pages.stop()
            runner.run(repository.close())
            stdout.write(t("console.bye") + "\n")
            stdout.flush()
    return 0


def _rest_of_text(first: str, stdin: TextIO, stdout: TextIO) -> str:
    """A text of several lines, ended by an empty line (or the end of input).

    A first line that is a choice's number or a command is sent alone: one Enter picks it.
    """
    if not first.strip() or first.strip().isdecimal() or first.lstrip().startswith("/"):
        return first
    lines = [first]
    while (line := _read(stdin, stdout)) and line.strip():
        lines.append(line.rstrip("\r\n"))
    return "\n".join(lines)


def _read(stdin: TextIO, stdout: TextIO) -> str:
    """One line of input ("" at end of input), with a prompt when a person is typing."""
    if stdin.isatty():
        stdout.write("> ")
        stdout.flush()
    return stdin.readline()
