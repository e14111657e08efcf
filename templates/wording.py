"""Small pieces of administrative wording the report documents need and a template cannot do.

- `header_lines`: the issuing body in capitals, on lines that never split a word group and never
  abbreviate ("ỦY BAN NHÂN DÂN" / "PHƯỜNG PHỔ NINH", not "UBND PHƯỜNG …" nor "… VÀ ĐÀO / TẠO");
- `clause`: a chỉ tiêu's wording as the predicate of a sentence ("đơn vị đã ban hành kế hoạch …",
  "có 31/32 thành viên trong đơn vị tuân thủ …"), so that every chỉ tiêu gets a sentence;
- `ascii_slug`: a unit's name for a file name ("Ủy ban nhân dân phường Phổ Ninh" ->
  "uy-ban-nhan-dan-phuong-pho-ninh").
"""

from __future__ import annotations

import re
import unicodedata

# One line of the header's left column holds about this many capitals at 12–13 pt.
HEADER_LINE = 26
_EXPANSIONS = (
    (re.compile(r"\bU[Bb][Nn][Dd]\b"), "Ủy ban nhân dân"),
    (re.compile(r"\bH[Đđ][Nn][Dd]\b"), "Hội đồng nhân dân"),
    (re.compile(r"\bGD\s*(?:&|và|-)?\s*ĐT\b"), "Giáo dục và Đào tạo"),
)
_UBND = re.compile(r"^(?:Ủy|Uỷ|ỦY|UỶ) ban nhân dân\s+", re.IGNORECASE)
_PLACE = re.compile(
    r"\s+(?=(?:xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tỉnh)\s)", re.IGNORECASE
)
_JOINERS = frozenset(("và", "-", "–", "&", "của", "cho", "về", "các"))


def expand(text: str) -> str:
    """Abbreviations of bodies written out (ND 30: the issuing body's name is never shortened)."""
    for pattern, full in _EXPANSIONS:
        text = pattern.sub(full, text)
    return " ".join(text.split())


def _groups(name: str) -> list[str]:
    """Word groups that stay on one line: the parts between " - ", cut before a place word."""
    groups: list[str] = []
    parts = re.split(r"\s+[-–]\s+", name)
    for index, part in enumerate(parts):
        pieces = [p for p in _PLACE.split(part) if p]
        if index < len(parts) - 1:
            pieces[-1] += " -"
        groups += pieces
    return groups


def _words(group: str, width: int) -> list[str]:
    """A group too long for one line, cut between words, never after a joining word."""
    lines: list[str] = []
    current: list[str] = []
    for word in group.split():
        if current and len(" ".join([*current, word])) > width:
            carried: list[str] = []
            while len(current) > 1 and current[-1].casefold() in _JOINERS:
                carried.insert(0, current.pop())
            lines.append(" ".join(current))
            current = carried
        current.append(word)
    return [*lines, " ".join(current)] if current else lines


def _pack(name: str, width: int) -> list[str]:
    lines: list[str] = []
    for group in _groups(name):
        if lines and len(f"{lines[-1]} {group}") <= width and not _PLACE.match(" " + group):
            lines[-1] = f"{lines[-1]} {group}"
        elif len(group) <= width:
            lines.append(group)
        else:
            lines += _words(group, width)
    return _merge_places(lines, width)


def _merge_places(lines: list[str], width: int) -> list[str]:
    """A short place ("huyện Kon Rẫy") joins the line before it when both fit on one."""
    merged: list[str] = []
    for line in lines:
        if merged and _PLACE.match(" " + line) and len(f"{merged[-1]} {line}") <= width // 2:
            merged[-1] = f"{merged[-1]} {line}"
        else:
            merged.append(line)
    return merged


def header_lines(text: str | None, width: int = HEADER_LINE) -> list[str]:
    """The body's name as header lines in capitals. Lines the unit split itself (with "/" or a
    new line) are kept; otherwise an Ủy ban nhân dân goes on its own line, then the name is cut
    before its place (xã, phường, tỉnh …) or at " - ", never inside a word group."""
    given = [" ".join(p.split()) for p in re.split(r"/|\n", text or "") if p.strip()]
    if not given:
        return []
    if len(given) > 1:
        return [expand(line).upper() for line in given]
    name = expand(given[0])
    lines: list[str] = []
    head = _UBND.match(name)
    if head and len(name) > width:
        lines.append("Ủy ban nhân dân")
        name = name[head.end() :]
    lines += _pack(name, width) if len(name) > width else [name]
    return [line.upper() for line in lines]


_AT_LEAST = re.compile(r"^Tối thiểu\s+\d+(?:[.,]\d+)?\s*%\s*")
_ALL = re.compile(r"^100\s*%\s*")
_UNIT = re.compile(r"^Đơn vị(?: cấp (?:huyện|tỉnh|xã))?\s+")
_BEING = re.compile(r"^là .*? (?=đạt )")


def clause(wording: str) -> str:
    """A chỉ tiêu's wording without its threshold and its subject "Đơn vị …", first letter
    lower: "ban hành kế hoạch hằng năm …", "thành viên trong đơn vị tuân thủ …", "đạt …"."""
    text = " ".join(wording.split()).rstrip(".")
    text = _ALL.sub("", _AT_LEAST.sub("", text))
    text = _BEING.sub("", _UNIT.sub("", text))
    return text[:1].lower() + text[1:]


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def about(title: str) -> str:
    """A tiêu chí's title opening a sentence: "Về điều kiện …", "Về tác dụng của …"."""
    title = " ".join(title.split())
    if title.casefold().startswith("về "):
        return "Về " + title[3:]
    return "Về " + lower_first(title)


def ascii_slug(text: str, limit: int = 60) -> str:
    """`text` in lower-case ASCII words joined by "-", for a file name any system can hold."""
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return slug[:limit].rstrip("-") or "don-vi"


_SMALL = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười")


def count_words(number: int) -> str:
    """Small counts in words as reports write them ("năm chỉ tiêu"), larger ones in figures."""
    return _SMALL[number] if 0 <= number < len(_SMALL) else str(number)
