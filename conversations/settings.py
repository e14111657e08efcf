"""Limits and options of the engine, with safe defaults (overridable from configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    max_text_chars: int = 4000  # one typed message; longer ones are refused, nothing saved
    max_evidence_chars: int = 20000  # all evidence text of one indicator
    max_file_bytes: int = 20 * 1024 * 1024  # Telegram bots cannot download more than 20 MB
    max_files_per_indicator: int = 20
    invite_days: int = 30
    reports_dir: Path = Path("data/reports")
