"""The chat's examples and hints are shown for every year, so they name no body abolished on
1 July 2025 (no district level: no "huyện", no Phòng Giáo dục và Đào tạo of a district)."""

from __future__ import annotations

import re
from pathlib import Path

from templates.text import _catalogue

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ABOLISHED = re.compile(r"\bhuyện\b|\bPhòng GD|Phòng Giáo dục|\bPhòng, Sở\b|\bpgd@", re.IGNORECASE)
# TT 24's own name of the level ("cấp huyện"): the circular's word, not an example; the
# registration's choice names it only as the former name ("Cấp xã (trước 01/7/2025: cấp huyện)").
CIRCULAR_WORDS = {"level.cap-huyen", "level.choice.cap-huyen"}


def test_no_message_of_the_catalogue_names_an_abolished_body() -> None:
    named = {
        key: text
        for key, text in _catalogue().items()
        if key not in CIRCULAR_WORDS and ABOLISHED.search(text)
    }
    assert named == {}


def test_no_chat_template_names_an_abolished_body() -> None:
    named = [
        path.name
        for path in sorted((TEMPLATES / "chat").glob("*.j2"))
        if ABOLISHED.search(path.read_text(encoding="utf-8"))
    ]
    assert named == []
