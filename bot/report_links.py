"""Signed, expiring download links to reports, served by the assistant's own HTTP endpoint.

Zalo cannot send a document, so a report reaches a person on Zalo as a link. The link must not
let a stranger fetch another unit's report: it names a random key (never a database id that
could be guessed by counting), it carries its expiry, and both are signed with HMAC-SHA256 under
a secret from configuration. A link whose signature does not match, or whose time is up, gets
403. A link to a document kept in the store (`Transaction.put_document`) names the document's
own random id and is served from the store, so any worker behind the public address serves
it; a link to a file only on this machine's disk names a key whose small file beside the links
says where the file is. Either way a link keeps working across a restart as long as the secret
stays the same.

Token: base64url(JSON payload) "." base64url(HMAC-SHA256(secret, first part)).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from storage.base import Document

log = logging.getLogger(__name__)

ROUTE = "/r/{token}"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]{1,256}")  # base64url without padding, bounded
DAY = 86_400
Documents = Callable[[str], Awaitable[Document | None]]  # a document of the store by its id


class ReportLinks:
    """Makes links (`create`) and answers them (`handle`, the GET route)."""

    def __init__(
        self,
        secret: str,
        folder: Path,
        public_url: str,
        days: int = 7,
        now: Callable[[], float] = time.time,
        documents: Documents | None = None,
    ) -> None:
        self._secret = secret.encode()
        self.documents = documents
        self.folder = folder
        self.public_url = public_url.rstrip("/")
        self.days = days
        self._now = now

    def create(self, path: Path, name: str, document: str | None = None) -> str:
        """A link to `path` (or to the store's `document`, when there is one and the store is
        at hand), downloaded as `name`, valid for `days` days from now."""
        if document is not None and self.documents is not None and _KEY.fullmatch(document):
            key = document  # random, unguessable: the store serves it, on any worker
        else:
            key = secrets.token_urlsafe(18)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._sweep()
            target = {"path": str(path.resolve()), "name": name}
            (self.folder / f"{key}.json").write_text(json.dumps(target), encoding="utf-8")
        expires = int(self._now()) + self.days * DAY
        return f"{self.public_url}{ROUTE.format(token=self.sign(key, expires))}"

    def sign(self, key: str, expires: int) -> str:
        payload = _b64(json.dumps({"k": key, "e": expires}, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def verify(self, token: str) -> str | None:
        """The key of a genuine, unexpired token; None for anything else.

        The signature is checked before anything of the token is decoded, so a stranger's
        bytes never reach the JSON parser; it is compared as the canonical text we would have
        written (one spelling per MAC), never as bytes from a lenient base64 decoder, which
        accepts several spellings of one value (the unused low bits of the last character).
        """
        payload, _, signature = token.partition(".")
        if not (_TOKEN_PART.fullmatch(payload) and _TOKEN_PART.fullmatch(signature)):
            return None
        expected = _b64(self._mac(payload))
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        try:  # signed by us: a small flat object, but read defensively all the same
            data = json.loads(_unb64(payload))
        except (ValueError, binascii.Error, RecursionError):
            return None
        if not isinstance(data, dict) or type(data.get("e")) is not int:
            return None
        key = data.get("k")
        if data["e"] < self._now() or not isinstance(key, str) or not _KEY.fullmatch(key):
            return None
        return key

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /r/{token}: the report as an attachment; forged or expired: 403."""
        key = self.verify(request.match_info.get("token", ""))
        if key is None:
            log.info("report link refused (forged, tampered or expired)")
            return web.Response(status=403, text="forbidden")
        target = self._target(key)
        if target is not None:
            path, name = target
            return web.FileResponse(path, headers=_headers(name))
        stored = await self.documents(key) if self.documents is not None else None
        if stored is None:
            return web.Response(status=404, text="not found")
        return web.Response(
            body=stored.data, headers=_headers(stored.name), content_type=_type(stored.name)
        )

    def _sweep(self) -> None:
        """Forget links that have expired (their key files), so the folder does not grow."""
        cutoff = self._now() - (self.days + 1) * DAY
        for entry in self.folder.glob("*.json"):
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError as exc:  # another process swept it first
                log.debug("link sweep: %s", exc)

    def _target(self, key: str) -> tuple[Path, str] | None:
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            path, name = Path(data["path"]), str(data["name"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return (path, name) if path.is_file() else None

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()


def _headers(name: str) -> dict[str, str]:
    disposition = f"attachment; filename=\"{_ascii(name)}\"; filename*=UTF-8''{_quote(name)}"
    return {"Content-Disposition": disposition, "Cache-Control": "private, no-store"}


def _type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


def _quote(name: str) -> str:
    return quote(name, safe="")
