"""The body that recognises a unit as "Đơn vị học tập" and receives its dossier, for a year.

Data, not code (rubric/authorities.yaml): the two-level government (no district from 1 July
2025) changed the body, and a later circular may change it again. A name set on the unit, else
on its supervising unit, wins over the year's default; reports for 2024 and earlier keep the
bodies of their time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

_UBND = ("ủy ban nhân dân", "uỷ ban nhân dân", "ubnd")


@dataclass(frozen=True, slots=True)
class Authority:
    """`addressee`: "Kính gửi" of the tờ trình and the first of Nơi nhận; `decider`: who is
    asked to recognise ("đề nghị <decider> xem xét, công nhận …"); `level_label`: the level's
    name in "“Đơn vị học tập” cấp xã mức độ 1" ("" for a named body: the year's default)."""

    addressee: str
    decider: str
    level_label: str = ""


@cache
def _table() -> dict[str, list[dict[str, object]]]:
    text = files("rubric").joinpath("authorities.yaml").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, object]]] = yaml.safe_load(text)
    return data


def _applies(period: dict[str, object], year: int) -> bool:
    first, last = period.get("from"), period.get("until")
    return (not isinstance(first, int) or year >= first) and (
        not isinstance(last, int) or year <= last
    )


def default_authority(unit_level: str, year: int) -> Authority:
    """The year's default for a framework level ("cap-huyen", "cap-tinh")."""
    periods = _table().get(unit_level) or _table()["cap-huyen"]
    period = next((p for p in periods if _applies(p, year)), periods[-1])
    label = str(period.get("level_label") or "")
    return Authority(str(period["addressee"]), str(period["decider"]), label)


def named_authority(body: str) -> Authority:
    """A body named by a setting: an Ủy ban nhân dân is asked through its Chủ tịch (who signs
    the decision, TT 24 Điều 11 and 17); any other body is asked as named."""
    name = " ".join(body.split()).rstrip(".;")
    if name.casefold().startswith("ubnd "):
        name = "Ủy ban nhân dân " + name[5:]
    if name.casefold().startswith(_UBND):
        return Authority(name, f"Chủ tịch {name}")
    return Authority(name, name)


def named_body(*settings: str | None) -> str | None:
    """The first non-empty setting (the unit's, then its supervising unit's), or None: no body
    is named and the year's default, a kind of body, would be used."""
    return next((body for body in settings if body and body.strip()), None)


def authority(unit_level: str, year: int, *settings: str | None) -> Authority:
    """The first non-empty setting (the unit's, then its supervising unit's), else the year's
    default."""
    body = named_body(*settings)
    return default_authority(unit_level, year) if body is None else named_authority(body)
