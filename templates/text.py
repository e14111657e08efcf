"""Vietnamese texts: a catalogue of short messages and jinja2 templates of longer ones.

User-facing words live in `messages.vi.yaml` and `chat/*.j2` beside this file, never in code, so
wording can be fixed (or a province's usage adopted) without touching logic.
"""

from __future__ import annotations

import errno
import re
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2
import yaml

from templates.formatting import format_number, format_percent

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("templates", "chat"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["percent"] = format_percent
_ENV.filters["number"] = format_number


@cache
def _catalogue() -> dict[str, str]:
    raw = files("templates").joinpath("messages.vi.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)
    if not isinstance(data, dict):
        raise RuntimeError("templates/messages.vi.yaml must be a mapping")
    return {str(key): str(value) for key, value in data.items()}


@cache
def _compiled(key: str) -> jinja2.Template:
    return _ENV.from_string(_catalogue()[key])


def t(key: str, /, **params: Any) -> str:
    """The short message `key` of the catalogue, rendered with `params`.

    Most messages have no placeholder, and most others only substitute names ("{{ code }}"):
    those are put together without jinja2 (every turn of the chat asks for a dozen messages,
    and a jinja2 render costs more than the rest of such a message's work).
    """
    parts = _parts(key)
    if parts is None:
        return _compiled(key).render(**params).strip()
    if len(parts) == 1:
        return parts[0]
    try:
        text = "".join(part if n % 2 == 0 else str(params[part]) for n, part in enumerate(parts))
    except KeyError as missing:  # as jinja2's StrictUndefined would
        raise jinja2.UndefinedError(f"{missing.args[0]!r} is undefined in {key!r}") from None
    return text.strip()


_NAME = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


@cache
def _parts(key: str) -> tuple[str, ...] | None:
    """The message as text and placeholder names alternating, or None when it needs jinja2
    (filters, conditions, loops)."""
    text = _catalogue()[key]
    parts = tuple(_NAME.split(text))
    if any("{" in part for part in parts[::2]):
        return None
    if len(parts) == 1:
        return (text.strip(),)
    return parts


def render(name: str, /, **params: Any) -> str:
    """The chat template `name` (a file under templates/chat/), rendered with `params`."""
    return _ENV.get_template(name).render(**params).strip()


def has(key: str) -> bool:
    return key in _catalogue()


def os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, in Vietnamese: the system says it in English
    ("[Errno 2] No such file or directory"); the common causes by their error number, else the
    system's own text."""
    key = f"os.{errno.errorcode.get(exc.errno or 0, '')}"
    return t(key) if has(key) else (exc.strerror or str(exc))
