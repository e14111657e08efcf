"""Signed, expiring links to the supervising level's page: access without a password.

As for report links (bot.report_links), the link carries what it opens and until when, signed
with HMAC-SHA256 under the configured secret: the person it was given to, the unit, and whether
it opens the units under that supervising unit or the unit alone. Nothing is stored: a link
works on any process of the service that has the same secret. The signature covers a purpose
tag too, so a report link's token never passes for a page link's.

Whether its person may still see the unit is checked at each request, against the database
(`conversations.overview_page.allowed`): a link stops working when its person loses the role.

Token: base64url(JSON payload) "." base64url(HMAC-SHA256(secret, "page:" + first part)).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from conversations.overview_page import Scope

ROUTE = "/tonghop/{token}"
_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]{1,256}")
_PURPOSE = b"page:"
HOUR = 3600


class Verdict(Enum):
    """What a token turned out to be."""

    GOOD = "good"
    FORGED = "forged"  # not signed by us, tampered with, or not a page token at all
    EXPIRED = "expired"  # ours, but its time is up


@dataclass(frozen=True, slots=True)
class Checked:
    verdict: Verdict
    scope: Scope | None = None
    expires: datetime | None = None


class PageLinks:
    """Makes page links (`link`, the engine's `PageLinker`) and checks their tokens."""

    def __init__(
        self,
        secret: str,
        public_url: str,
        hours: int = 24,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret.encode()
        self.public_url = public_url.rstrip("/")
        self.hours = hours
        self._now = now
        # Told of each link given (unit, whole, year): the page server readies that page's
        # rows then, off the loop, so the first load is not the one that judges every unit.
        self.on_link: Callable[[int, bool, int], object] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Sent to a job's process without `on_link` (the page server stays in this one)."""
        return {**self.__dict__, "on_link": None}

    def link(self, person_id: int, unit_id: int, whole: bool, year: int) -> tuple[str, datetime]:
        if self.on_link is not None:
            self.on_link(unit_id, whole, year)
        expires = int(self._now()) + self.hours * HOUR
        token = self.sign(Scope(person_id, unit_id, whole), expires)
        url = f"{self.public_url}{ROUTE.format(token=token)}?nam={year}"
        return url, datetime.fromtimestamp(expires, UTC)

    def sign(self, scope: Scope, expires: int) -> str:
        data = {"p": scope.person_id, "u": scope.unit_id, "w": int(scope.whole), "e": expires}
        payload = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def check(self, token: str) -> Checked:
        """The token's scope when it is genuine and unexpired; else why not.

        The signature is checked before anything of the token is decoded, and compared as the
        canonical text we would have written (see `bot.report_links.ReportLinks.verify`)."""
        payload, _, signature = token.partition(".")
        if not (_TOKEN_PART.fullmatch(payload) and _TOKEN_PART.fullmatch(signature)):
            return Checked(Verdict.FORGED)
        expected = _b64(self._mac(payload))
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return Checked(Verdict.FORGED)
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error, RecursionError):
            return Checked(Verdict.FORGED)
        fields = ("p", "u", "w", "e")
        if not isinstance(data, dict) or any(type(data.get(k)) is not int for k in fields):
            return Checked(Verdict.FORGED)
        try:
            expires = datetime.fromtimestamp(data["e"], UTC)
        except (OverflowError, OSError, ValueError):
            return Checked(Verdict.FORGED)
        if data["e"] < self._now():
            return Checked(Verdict.EXPIRED, expires=expires)
        return Checked(Verdict.GOOD, Scope(data["p"], data["u"], bool(data["w"])), expires)

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._secret, _PURPOSE + payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
