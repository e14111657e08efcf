"""Configuration from the environment (a .env file is not read: set variables in the service)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Config:
    db_path: Path
    data_dir: Path
    telegram_token: str | None
    telegram_api_base_url: str | None

    @classmethod
    def from_env(cls) -> Config:
        data_dir = Path(os.environ.get("DVHT_DATA_DIR", "data"))
        return cls(
            db_path=Path(os.environ.get("DVHT_DB_PATH", str(data_dir / "donvi-hoctap.sqlite3"))),
            data_dir=data_dir,
            telegram_token=os.environ.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=os.environ.get("TELEGRAM_API_BASE_URL") or None,
        )
