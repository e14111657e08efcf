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

# The header's left column (72 mm less 2 mm of cell margins) in points, at 12 pt bold capitals.
HEADER_WIDTH = 196.0
_EXPANSIONS = (
    (re.compile(r"\bU[Bb][Nn][Dd]\b"), "Ủy ban nhân dân"),
    (re.compile(r"\bH[Đđ][Nn][Dd]\b"), "Hội đồng nhân dân"),
    (re.compile(r"\bGD\s*(?:&|và|-)?\s*ĐT\b"), "Giáo dục và Đào tạo"),
)
_UBND = re.compile(r"^(?:Ủy|Uỷ|ỦY|UỶ) ban nhân dân\s+", re.IGNORECASE)
_PLACE = re.compile(
    r"\s+(?=(?:xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tỉnh)\s)", re.IGNORECASE
)
_JOINERS = frozenset(("và", "-", "–", "&", "của", "cho", "về", "các", "số"))
# Two-syllable words of unit names that a line must not cut ("ĐÀO / TẠO", "PHỔ / THÔNG").
_COMPOUND_WORDS = (
    "giáo dục, đào tạo, trung học, phổ thông, cơ sở, tiểu học, mầm non, mẫu giáo, văn hóa, "
    "thể thao, du lịch, nhân dân, ủy ban, uỷ ban, truyền thanh, truyền hình, truyền thông, "
    "thông tin, nội vụ, tư pháp, tài chính, kế hoạch, đầu tư, dân tộc, khuyến học, thường "
    "xuyên, nghề nghiệp, kinh tế, xã hội, lao động, thương binh, y tế, trung tâm, dạy nghề, "
    "đại học, cao đẳng, công an, quân sự, khoa học, công nghệ, nông nghiệp, phát triển, nông "
    "thôn, môi trường, tài nguyên, xây dựng, giao thông, vận tải, công thương, hội đồng, "
    "chuyên biệt, nội trú, bán trú, thanh tra, văn phòng, tổ chức, quản lý, chính trị, bồi "
    "dưỡng, hành chính, liên cơ, dịch vụ, sự nghiệp, thư viện, bảo tàng, di tích, kiểm định"
)
_COMPOUNDS = frozenset(tuple(pair.split()) for pair in _COMPOUND_WORDS.split(", "))
# Times New Roman Bold advance widths (1/1000 em) of the capitals; others take 722.
_WIDTHS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (722, 667, 722, 722, 667, 611, 778, 778, 389,
                   500, 778, 667, 944, 722, 778, 611, 778, 722, 556, 667, 722, 722, 1000, 722,
                   722, 667), strict=True))  # fmt: skip
_WIDTHS.update({" ": 250, "-": 333, "–": 500, ".": 250, ",": 250, "&": 833, "(": 333, ")": 333})
_WIDTHS.update(dict.fromkeys("0123456789", 500))


def _base(char: str) -> str:
    """The letter under its diacritics ("Ộ" -> "O"); Đ is a D, Ư and Ơ keep their horn."""
    return unicodedata.normalize("NFD", char.replace("Đ", "D"))[0]


def text_width(text: str, size: float = 12) -> float:
    """`text` in capitals, in points at `size`: enough to know whether a header line fits."""
    total = 0
    for char in text.upper():
        total += _WIDTHS.get(_base(char), 722) + (50 if char in "ƯỪỨỬỮỰƠỜỚỞỠỢ" else 0)
    return total * size / 1000


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


def _may_break(words: list[str], at: int) -> bool:
    """A line may end before words[at]: not after a joining word, not inside a two-syllable
    word of the list, not between two words of a proper name ("Lê Khiết", "Phổ Ninh")."""
    before, after = words[at - 1], words[at]
    if before.casefold() in _JOINERS or (before.casefold(), after.casefold()) in _COMPOUNDS:
        return False
    return not (at > 1 and before[:1].isupper() and after[:1].isupper())


def _split(words: list[str], width: float) -> list[str]:
    """`words` on as few lines as fit, each cut where `_may_break` allows; two lines as even as
    possible (a long name and its place balance better than a full line and one word)."""
    if text_width(" ".join(words)) <= width or len(words) < 2:
        return [" ".join(words)]
    allowed = [at for at in range(1, len(words)) if _may_break(words, at)]
    fitting = [at for at in allowed if text_width(" ".join(words[:at])) <= width]
    if not fitting:
        fitting = [at for at in range(1, len(words)) if text_width(" ".join(words[:at])) <= width]
        fitting = fitting or [1]
    two = [at for at in fitting if text_width(" ".join(words[at:])) <= width]
    if two:
        at = min(two, key=lambda a: max(text_width(" ".join(words[:a])),
                                        text_width(" ".join(words[a:]))))  # fmt: skip
        return [" ".join(words[:at]), " ".join(words[at:])]
    at = max(fitting)
    return [" ".join(words[:at]), *_split(words[at:], width)]


def _pack(name: str, width: float) -> list[str]:
    """The groups joined while they fit on a line, a place starting its own line."""
    lines: list[str] = []
    for group in _groups(name):
        joined = f"{lines[-1]} {group}" if lines else group
        if lines and text_width(joined) <= width and not _PLACE.match(" " + group):
            lines[-1] = joined
        else:
            lines += _split(group.split(), width)
    return _merge_places(lines, width)


def _merge_places(lines: list[str], width: float) -> list[str]:
    """A short place ("huyện Kon Rẫy") joins a short line before it when both fit on one."""
    merged: list[str] = []
    for line in lines:
        joined = f"{merged[-1]} {line}" if merged else line
        if merged and _PLACE.match(" " + line) and text_width(joined) <= width * 0.6:
            merged[-1] = joined
        else:
            merged.append(line)
    return merged


def header_lines(
    text: str | None, width: float = HEADER_WIDTH, *, written_out: bool = True
) -> list[str]:
    """The body's name as header lines in capitals. Lines the unit split itself (with "/" or a
    new line) are kept; otherwise an Ủy ban nhân dân goes on its own line, then the name is cut
    before its place (xã, phường, tỉnh …) or at " - ", never inside a word group.
    `written_out=False` keeps abbreviations (the cơ quan chủ quản may be "UBND TỈNH …")."""
    given = [" ".join(p.split()) for p in re.split(r"/|\n", text or "") if p.strip()]
    if not given:
        return []
    spell = expand if written_out else (lambda line: line)
    if len(given) > 1:
        return [spell(line).upper() for line in given]
    name = spell(given[0])
    lines: list[str] = []
    head = _UBND.match(name)
    if head and text_width(name) > width:
        lines.append("Ủy ban nhân dân")
        name = name[head.end() :]
    lines += _pack(name, width) if text_width(name) > width else [name]
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
