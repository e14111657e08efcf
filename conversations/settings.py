"""Limits and options of the engine, with safe defaults (overridable from configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class PageLinker(Protocol):
    """Signed, expiring links to the supervising level's page (`bot.page_links`), given by the
    process that serves the page: the engine only asks for one and says it."""

    def link(self, person_id: int, unit_id: int, whole: bool, year: int) -> tuple[str, datetime]:
        """The page of `unit_id` for `person_id` (`whole`: the units under that supervising
        unit; else the unit alone), opening on `year`; with the moment it stops working."""
        ...


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
    page_links: PageLinker | None = None  # None: no address where the page is served
