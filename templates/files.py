"""Writing the documents people receive: whole or not at all."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def write_whole(path: Path, save: Callable[[str], object]) -> Path:
    """`save` writes to a temporary file beside `path`, which then replaces `path` in one step:
    a report being sent from the outbox is never read half-written by the next rendering."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        save(str(partial))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
