"""Limits and options of the engine, with safe defaults (overridable from configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    max_text_chars: int = 4000  # one typed message; longer ones are refused, nothing saved
    max_evidence_chars: int = 20000  # all evidence text of one indicator
    max_file_bytes: int = 20 * 1024 * 1024  # Telegram bots cannot download more than 20 MB
    max_files_per_indicator: int = 20
    invite_days: int = 30
    reports_dir: Path = Path("data/reports")
    admins: frozenset[str] = frozenset()  # "channel:user id" of those who create supervising units
    # Join links per channel, "{code}" replaced (Telegram: "https://t.me/<bot>?start={code}").
    invite_links: Mapping[str, str] = field(default_factory=dict)
    remind_every_days: int = 7  # an unfinished assessment is recalled this often
    remind_before_days: int = 10  # and daily in the last days before the filing deadline
