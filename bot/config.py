"""Configuration from the environment (a .env file is not read: set variables in the service).

Secrets (bot tokens, webhook secrets, the report links' signing key) are read here and handed to
the channels; they are never written to a file and the logging filter blanks them out of every
log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LINK_DAYS = 7  # a report link works this many days unless DVHT_LINK_DAYS says otherwise
PAGE_HOURS = 24  # a page link (every unit's state) is shorter-lived: DVHT_PAGE_LINK_HOURS


@dataclass(frozen=True, slots=True)
class Config:
    db_path: Path
    data_dir: Path
    db_url: str | None = None  # DVHT_DB_URL=postgresql://…: PostgreSQL instead of the file
    telegram_token: str | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_secret: str | None = None
    zalo_token: str | None = None
    zalo_api_base_url: str | None = None
    zalo_webhook_secret: str | None = None
    public_url: str | None = None  # set: webhooks (and report links) on this public address
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    reuse_port: bool = False  # DVHT_REUSE_PORT=1: several workers on one port (SO_REUSEPORT)
    link_secret: str | None = None  # signs report links; unset: a new one at each start
    link_days: int = LINK_DAYS
    page_hours: int = PAGE_HOURS  # a link to the supervising level's page works this long
    admins: frozenset[str] = frozenset()  # "telegram:123456789": may create supervising units
    remind_every_days: int = 7
    remind_before_days: int = 10
    reminder_check_minutes: int = 60

    @classmethod
    def from_env(cls) -> Config:
        data_dir = Path(os.environ.get("DVHT_DATA_DIR", "data"))
        port = os.environ.get("DVHT_HTTP_PORT") or os.environ.get("PORT") or "8080"
        days = os.environ.get("DVHT_LINK_DAYS", "").strip()
        return cls(
            db_path=Path(os.environ.get("DVHT_DB_PATH", str(data_dir / "donvi-hoctap.sqlite3"))),
            data_dir=data_dir,
            db_url=_get("DVHT_DB_URL"),
            telegram_token=_get("TELEGRAM_BOT_TOKEN"),
            telegram_api_base_url=_get("TELEGRAM_API_BASE_URL"),
            telegram_webhook_secret=_get("TELEGRAM_WEBHOOK_SECRET"),
            zalo_token=_get("ZALO_BOT_TOKEN"),
            zalo_api_base_url=_get("ZALO_API_BASE_URL"),
            zalo_webhook_secret=_get("ZALO_WEBHOOK_SECRET"),
            public_url=(_get("DVHT_PUBLIC_URL") or "").rstrip("/") or None,
            http_host=os.environ.get("DVHT_HTTP_HOST", "0.0.0.0"),
            http_port=int(port) if port.isdigit() else 8080,
            reuse_port=os.environ.get("DVHT_REUSE_PORT", "").strip() in ("1", "yes", "true"),
            link_secret=_get("DVHT_LINK_SECRET"),
            link_days=int(days) if days.isdigit() and int(days) > 0 else LINK_DAYS,
            page_hours=_int("DVHT_PAGE_LINK_HOURS", PAGE_HOURS),
            admins=frozenset(
                a.strip() for a in os.environ.get("DVHT_ADMINS", "").split(",") if a.strip()
            ),
            remind_every_days=_int("DVHT_REMIND_EVERY_DAYS", 7),
            remind_before_days=_int("DVHT_REMIND_BEFORE_DAYS", 10),
            reminder_check_minutes=_int("DVHT_REMINDER_CHECK_MINUTES", 60),
        )

    @property
    def store(self) -> str:
        """Where the data is: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.db_url or str(self.db_path)

    def store_name(self) -> str:
        """`store` as it may be shown (a URL's password blanked)."""
        from storage.postgres import redacted

        return redacted(self.store)

    def secrets(self) -> list[str]:
        """Every secret value, for the logging filter."""
        values = (
            self.telegram_token,
            self.telegram_webhook_secret,
            self.zalo_token,
            self.zalo_webhook_secret,
            self.link_secret,
            _password(self.db_url),
        )
        return [value for value in values if value]


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


def _password(url: str | None) -> str | None:
    """The password in a database URL (a secret like the tokens); a URL that cannot be parsed
    is a secret as a whole (where its password is cannot be told)."""
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return url


def _get(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None
