"""Logging that cannot leak a secret: every line passes through a filter that blanks it out.

Bot tokens are part of every Bot API URL, so any library that logs a URL or an exception that
quotes one (httpx does at INFO level) would write the token into the service's logs. A filter on
the handlers (not on one logger) sees every record, whichever library emitted it.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType

MASK = "***"


class RedactingFilter(logging.Filter):
    """Replaces each secret in a record's message and traceback with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None  # the handler prints exc_text, already redacted
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class RepeatFilter(logging.Filter):
    """At most `burst` records of one kind (logger and message template) per `window` seconds.

    A fault that repeats in a loop (asyncio's "socket.accept() out of system resource" when the
    open files run out, a client retrying a refused request) would otherwise write the same line
    a hundred thousand times and fill the disk; the first few say all there is to say. The next
    line of that kind let through says how many were left out.
    """

    def __init__(
        self, burst: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int, int]] = {}  # start, passed, dropped

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        start, passed, dropped = self._seen.get(key, (now, 0, 0))
        if now - start >= self.window:
            start, passed = now, 0
        if passed >= self.burst:
            self._seen[key] = (start, passed, dropped + 1)
            return False
        if dropped:
            record.msg = f"{record.getMessage()} [{dropped} similar lines left out]"
            record.args = None
        self._seen[key] = (start, passed + 1, 0)
        if len(self._seen) > 10_000:  # many different messages: forget the oldest kinds
            self._seen.pop(next(iter(self._seen)))
        return True


def setup_logging(secrets: Iterable[str], level: int = logging.INFO) -> RedactingFilter:
    """Log to stderr with every secret redacted and repeated lines limited; quiet the libraries
    that log each request URL."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redacting = RedactingFilter(secrets)
    repeats = RepeatFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeats)
        handler.addFilter(redacting)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _redact_uncaught(redacting)
    return redacting


def _redact_uncaught(redacting: RedactingFilter) -> None:
    """An exception nobody caught is printed by Python itself, past the logging filter: print
    it redacted instead (a library's error message may quote the URL, hence the token)."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redacting.redact(text))

    sys.excepthook = hook
