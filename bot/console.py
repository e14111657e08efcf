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

CHANNEL = "console"


def _print(replies: Iterable[Reply], out: TextIO) -> None:
    for reply in replies:
        out.write(render_text(reply) + "\n\n")
    out.flush()


async def run_console(
    db_path: Path, user: str, data_dir: Path, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    repository = await SqliteRepository.open(db_path)
    engine = Engine(repository, Settings(reports_dir=data_dir / "reports"))
    sender = Sender(id=user, name=user)
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    try:
        _print(
            await engine.handle(Event(CHANNEL, user, sender, EventKind.COMMAND, "start")), stdout
        )
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            text = line.rstrip("\r\n")
            _print(await engine.handle(Event(CHANNEL, user, sender, EventKind.TEXT, text)), stdout)
    finally:
        await repository.close()
