"""The terminal console: a chat on standard input and output, scriptable with a pipe.

Each line is one message from the user. End of input or Ctrl-C leaves everything saved (every
answer was committed before its confirmation was printed); running it again with the same
database and user resumes the unit's assessment where it stopped.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.textrender import render_text
from conversations.engine import Engine
from conversations.events import Event, EventKind, Reply, Sender
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from templates.text import t

CHANNEL = "console"


def _print(replies: Iterable[Reply], out: TextIO) -> None:
    for reply in replies:
        out.write(render_text(reply) + "\n\n")
    out.flush()


def run_console(
    db_path: Path,
    user: str,
    data_dir: Path,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Chat on `stdin`/`stdout` until end of input or Ctrl-C.

    Lines are read on the main thread (not in an executor) so Ctrl-C interrupts a waiting read at
    once; each line is handled to completion, committed, then printed.
    """
    with asyncio.Runner() as runner:
        repository = runner.run(SqliteRepository.open(db_path))
        engine = Engine(repository, Settings(reports_dir=data_dir / "reports"))
        sender = Sender(id=user, name=user)

        def send(kind: EventKind, text: str) -> None:
            _print(runner.run(engine.handle(Event(CHANNEL, user, sender, kind, text))), stdout)

        try:
            send(EventKind.COMMAND, "start")
            while line := _read(stdin, stdout):
                send(EventKind.TEXT, line.rstrip("\r\n"))
        except KeyboardInterrupt:
            stdout.write("\n")
        finally:
            runner.run(repository.close())
            stdout.write(t("console.bye") + "\n")
            stdout.flush()


def _read(stdin: TextIO, stdout: TextIO) -> str:
    """One line of input ("" at end of input), with a prompt when a person is typing."""
    if stdin.isatty():
        stdout.write("> ")
        stdout.flush()
    return stdin.readline()
