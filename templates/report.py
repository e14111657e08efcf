"""The unit's BÁO CÁO as a Word document, its chat summary, and drafts of its narrative sections.

Hand-typed reports get their sums wrong (seeds/002 states 98 for 93), so nothing here takes a
figure from people: subtotals, total, percentages, classification and recognition all come from
`rubric.scoring.evaluate` on the answers. The words live in templates: the .docx files under
templates/report/ (docxtpl, editable in Word), the jinja2 files under templates/chat/ and the
catalogue templates/messages.vi.yaml; this module only assembles the figures for them.

Entry points: `render_report` (the .docx), `render_dossier` (the documents a unit files: under
Thông tư 24/2023 Điều 10 the tờ trình, the báo cáo tự đánh giá and the bảng tổng hợp; under
Thông tư 22/2020 the báo cáo alone), `summary_text` (one chat message, at most 2,000 characters
so it fits Zalo as well as Telegram), `draft_narratives` (ưu điểm, tồn tại, kiến nghị, phương
hướng drafted from the answers where the unit wrote nothing, flagged as drafts).

A sent document carries no product words and no dotted blanks: what stays unknown is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fractions import Fraction
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate  # type: ignore[import-untyped]

from rubric.answers import Answer, Counts, YesNo
from rubric.authorities import Authority, authority
from rubric.loader import kind as load_kind
from rubric.model import AnswerKind, Framework, Indicator, Kind
from rubric.scoring import (
    IndicatorScore,
    Judgement,
    PointsResult,
    RecognitionResult,
    Result,
    Status,
    evaluate,
)
from storage.base import UNIT_DETAIL_FIELDS, Unit
from templates.files import write_whole
from templates.formatting import VIETNAM, format_number, format_percent
from templates.text import render, t
from templates.wording import about, ascii_slug, clause, count_words, header_lines
from templates.xmlsafe import xml_safe_tree

SUMMARY_LIMIT = 2000  # Zalo's limit for one message (Telegram's is 4,096)
SECTION_KEYS = ("uu_diem", "ton_tai", "kien_nghi", "phuong_huong")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # docxtpl turns \a, \f, \t into layout


@dataclass(frozen=True, slots=True)
class ReportUnit(Unit):
    """A unit not kept in storage (the command line, tests): a `storage.base.Unit` whose name,
    kind and level may be left out; what is left out is left out of the report too."""

    id: int = 0
    name: str = ""
    kind: str = "co-quan"
    level: str = "cap-huyen"


# The unit's fields a report reads (and a report file may give): its name, kind and level, and
# the details people fill in; `Unit` declares them.
UNIT_FIELDS = ("name", "kind", "level", *UNIT_DETAIL_FIELDS)


@dataclass(frozen=True, slots=True)
class Narrative:
    """One narrative section; `draft` when the assistant wrote it and nobody has accepted it."""

    text: str = ""
    draft: bool = False

    @property
    def written(self) -> bool:
        return bool(self.text.strip())

    def paragraphs(self) -> list[str]:
        """One paragraph per non-empty line, as the unit typed them ("- …" lines included)."""
        return [_one_line(line) for line in _clean(self.text).splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class Narratives:
    """Section III of the report: ưu điểm, tồn tại, kiến nghị, phương hướng năm sau."""

    uu_diem: Narrative = Narrative()
    ton_tai: Narrative = Narrative()
    kien_nghi: Narrative = Narrative()
    phuong_huong: Narrative = Narrative()

    def get(self, key: str) -> Narrative:
        if key not in SECTION_KEYS:
            raise KeyError(key)
        section: Narrative = getattr(self, key)
        return section

    def drafts(self) -> list[str]:
        """The keys of the sections still drafted by the assistant."""
        return [key for key in SECTION_KEYS if self.get(key).draft]


@dataclass(frozen=True, slots=True)
class Training:
    """The year's training figures (seeds: "… lượt người, … lớp, đạt …% kế hoạch"); any may be
    unknown (None)."""

    classes: int | None = None  # lớp đào tạo, bồi dưỡng
    attendances: int | None = None  # lượt người
    learners: int | None = None  # học viên
    planned: int | None = None  # lượt người in the year's plan


@dataclass(frozen=True, slots=True)
class Extras:
    """What real reports carry beside the answers, each printed only when given: the documents
    received and issued ("Công tác chỉ đạo, triển khai"), the members by kind ("Đặc điểm tình
    hình": cán bộ 12, công chức 14 …) and the training figures."""

    directives: tuple[str, ...] = ()
    members_by_kind: tuple[tuple[str, int], ...] = ()
    situation: str = ""
    training: Training | None = None


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report needs; the figures are computed from `answers` when rendering."""

    unit: Unit
    framework: Framework
    year: int
    answers: Mapping[str, Answer]
    evidence: Mapping[str, str] = field(default_factory=dict)  # leaf or indicator code -> text
    narratives: Narratives = Narratives()
    basis: str = ""  # "Thực hiện Công văn số …"; empty: the framework's legal basis
    recipients: Sequence[str] = ()  # Nơi nhận before "Lưu: VT."; empty: the supervising body
    submitted_by: str = ""
    submitted_at: datetime | None = None
    issued: date | None = None  # the date line; None leaves day and month for the clerk
    level: int = 1  # the mức độ the unit asks recognition at (recognition frameworks)
    scored: Result | None = None  # the result as the caller already computed it from `answers`
    # Whom the dossier is addressed to and who recognises (TT 24); None: the unit's setting, then
    # the year's default (rubric/authorities.yaml).
    authority: Authority | None = None
    # Which part of the members a chỉ tiêu's total counts when it is not all of them (code ->
    # "cán bộ, công chức"): 14/20 of a unit of 32 says "tính trên 20 cán bộ, công chức".
    part_notes: Mapping[str, str] = field(default_factory=dict)
    extras: Extras = Extras()

    @property
    def kind(self) -> Kind:
        return load_kind(self.unit.kind)

    def result(self) -> Result:
        """The figures at the report's level (`level` is ignored by points frameworks): as the
        caller scored them (the engine scores an assessment once per turn), else from `answers`."""
        if self.scored is not None:
            return self.scored
        level = self.level if self.framework.method == "recognition" else 1
        return evaluate(self.framework, self.kind, self.answers, level)

    def recognising(self) -> Authority:
        """The body the dossier goes to: as given, else the unit's setting, else the year's."""
        if self.authority is not None:
            return self.authority
        level = self.framework.unit_level or "cap-huyen"
        return authority(level, self.year, self.unit.recognising_body)


# --- Text hygiene ----------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Text safe for the document: no control characters (docxtpl would turn them into layout)."""
    return _CONTROL.sub("", text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(text: str | None) -> str:
    """A single-line field: cleaned, whitespace collapsed; None becomes ""."""
    return " ".join(_clean(text or "").split())


def _lower_first(text: str) -> str:
    """The trích yếu inside a sentence ("báo cáo kết quả tự đánh giá …")."""
    return text[:1].lower() + text[1:]


def _local(moment: datetime) -> datetime:
    """A stored moment (aware UTC, or naive meaning local) in Vietnam's time."""
    return moment.astimezone(VIETNAM) if moment.tzinfo else moment


# --- Figures as words (from the catalogue) -----------------------------------------------------


def _status_label(status: Status | None) -> str:
    return t(f"report.status.{status.name.lower()}") if status is not None else ""


def _requirement(indicator: Indicator) -> str:
    if indicator.answer is AnswerKind.COUNTS and indicator.threshold is not None:
        threshold = format_percent(indicator.threshold)
        return t("report.requirement_counts", threshold=threshold, subject=indicator.subject)
    return t("report.requirement_yes_no")


def _measured(answer: Answer | None, part: str = "") -> str:
    """The "Kết quả của đơn vị" cell: "31/32 (96,9%)", "Đã thực hiện" or a dash; with the part
    of the members a total counts when it is not all of them."""
    match answer:
        case Counts(achieved, total):
            percent = format_percent(answer.fraction)
            return t(
                "report.result_counts", achieved=achieved, total=total, percent=percent, part=part
            )
        case YesNo(met):
            return t("report.result_yes" if met else "report.result_no")
    return t("report.result_na")


def _sentence(judgement: Judgement, year: int, part: str = "") -> str:
    """A chỉ tiêu's result in one sentence of the report, from its answer alone (part II.2
    when the unit wrote nothing for it)."""
    answer, indicator = judgement.answer, judgement.indicator
    if judgement.status is Status.KHONG_AP_DUNG or answer is None:
        return t("report.sentence.na")
    words = clause(indicator.text)
    if isinstance(answer, Counts):
        return t(
            "report.sentence.counts_met"
            if judgement.status is Status.DAT
            else "report.sentence.counts_unmet",
            year=year,
            achieved=answer.achieved,
            total=answer.total,
            clause=words,
            part=part,
            percent=format_percent(answer.fraction),
            threshold=format_percent(judgement.threshold or 0),
            shortfall=judgement.shortfall,
            subject=indicator.subject,
        )
    met = isinstance(answer, YesNo) and answer.met
    return t("report.sentence.yes" if met else "report.sentence.no", year=year, clause=words)


def _points_sentence(ind: IndicatorScore) -> str:
    return t("report.sentence.points", score=ind.score, max=ind.max)


def _score_figure(score: int, maximum: int) -> str:
    return t("answer_text.score", points=score, max=maximum)


# --- The results table -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointsRow:
    """A row of the TT 22 table: criteria bold, indicators a, b, c, the items of 3a as "-"."""

    stt: str
    text: str
    max: str
    score: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class RecognitionRow:
    """A row of the TT 24 table: criteria bold with their overall status, then each chỉ tiêu."""

    stt: str
    text: str
    requirement: str
    result: str
    status: str
    bold: bool = False


def _points_rows(result: PointsResult) -> list[PointsRow]:
    rows: list[PointsRow] = []
    for criterion in result.criteria:
        rows.append(
            PointsRow(
                criterion.code, criterion.title, str(criterion.max), str(criterion.score), True
            )
        )
        for ind in criterion.indicators:
            letter = ind.code.removeprefix(criterion.code) or ind.code
            rows.append(PointsRow(letter, ind.text, str(ind.max), str(ind.score)))
            for item in ind.items:
                rows.append(PointsRow("-", item.text, str(item.max), str(item.score)))
    return rows


def _part(data: ReportData, judgement: Judgement) -> str:
    """The part of the members a chỉ tiêu's total counts ("tính trên 20 cán bộ, công chức"),
    as noted, else "tính trên 20/32 thành viên" when the total is below the unit's members."""
    note = _one_line(data.part_notes.get(judgement.code))
    answer, members = judgement.answer, data.unit.member_count
    if not isinstance(answer, Counts):
        return ""
    if note:
        return t("report.part_note", total=answer.total, part=note)
    if members and answer.total < members:  # a part, though nobody said which one
        return t("report.part_of_members", total=answer.total, members=members)
    return ""


def _recognition_rows(data: ReportData, result: RecognitionResult) -> list[RecognitionRow]:
    rows: list[RecognitionRow] = []
    for criterion in result.criteria:
        status = _status_label(criterion.status)
        rows.append(RecognitionRow(criterion.code, criterion.title, "", "", status, True))
        for j in criterion.judgements:
            rows.append(
                RecognitionRow(
                    j.code,
                    _one_line(j.indicator.text),
                    _requirement(j.indicator),
                    _measured(j.answer, _part(data, j)),
                    _status_label(j.status),
                )
            )
    return rows


# --- Part II.2: what the unit did, per chỉ tiêu, grouped by tiêu chí ---------------------------


@dataclass(frozen=True, slots=True)
class EvidencePart:
    label: str  # an item's wording before its first paragraph (the 8 items of 3a), else ""
    text: str


@dataclass(frozen=True, slots=True)
class EvidenceBlock:
    """A chỉ tiêu in part II.2: its lead ("Chỉ tiêu 2.1."), the sentence of its answer first,
    then the unit's own paragraphs (the table already gives its wording)."""

    code: str
    text: str
    parts: tuple[EvidencePart, ...]
    lead: str = ""


@dataclass(frozen=True, slots=True)
class EvidenceGroup:
    """A tiêu chí's heading and the blocks of its chỉ tiêu."""

    code: str
    title: str
    blocks: tuple[EvidenceBlock, ...]


def _parts(text: str | None, label: str = "") -> list[EvidencePart]:
    paragraphs = Narrative(text or "").paragraphs()
    return [EvidencePart(label if i == 0 else "", p) for i, p in enumerate(paragraphs)]


def _answer_sentences(data: ReportData, result: Result) -> dict[str, str]:
    """Each indicator's result as a sentence, for a chỉ tiêu the unit wrote nothing about."""
    if isinstance(result, PointsResult):
        return {
            ind.code: _points_sentence(ind)
            for criterion in result.criteria
            for ind in criterion.indicators
        }
    return {j.code: _sentence(j, data.year, _part(data, j)) for j in result.judgements}


def _evidence_groups(data: ReportData, result: Result) -> list[EvidenceGroup]:
    """Every indicator, in questionnaire order under its tiêu chí: the unit's own evidence, and
    the sentence of its answer first (the figure stays in the text, not only in the table)."""
    sentences = _answer_sentences(data, result)
    groups = []
    for criterion in data.framework.criteria:
        blocks = []
        for base in criterion.indicators:
            indicator = base.for_kind(data.kind)
            parts = [EvidencePart("", sentences[indicator.code])]
            parts += _parts(data.evidence.get(indicator.code))
            for item in indicator.items:
                parts += _parts(data.evidence.get(item.code), _one_line(item.text).rstrip("."))
            text = _one_line(indicator.text).rstrip(".")
            lead = t(f"report.lead.{data.framework.method}", code=indicator.code)
            blocks.append(EvidenceBlock(indicator.code, text, tuple(parts), lead))
        groups.append(EvidenceGroup(criterion.code, _one_line(criterion.title), tuple(blocks)))
    return groups


# --- Shortfalls and strengths (drafts and the summary) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Shortfall:
    """An indicator below its maximum (TT 22) or không đạt (TT 24), with its figures."""

    code: str
    text: str
    figure: str
    need: str = ""  # "yêu cầu tối thiểu 90%, còn thiếu 2 thành viên"
    items: tuple[tuple[str, str], ...] = ()  # (item wording, "2/3 điểm") below their maximum
    criterion: str = ""  # the tiêu chí's code
    sentence: str = ""  # "chỉ tiêu 2.4 chưa đạt: mới có 14/32 …" (inside a sentence, lower)
    remedy: str = ""  # "nâng tỷ lệ thành viên … lên tối thiểu 50%"


def _judgement_figure(judgement: Judgement) -> str:
    """A chỉ tiêu's figure in a sentence: "31/32 thành viên, tỷ lệ 96,9%" or "đạt"."""
    answer = judgement.answer
    if isinstance(answer, Counts):
        return t(
            "report.figure_counts",
            achieved=answer.achieved,
            total=answer.total,
            subject=judgement.indicator.subject,
            percent=format_percent(answer.fraction),
        )
    return _status_label(judgement.status).lower()


def _points_shortfall(criterion: str, ind: IndicatorScore) -> Shortfall:
    items = tuple(
        (_one_line(item.text).rstrip("."), _score_figure(item.score or 0, item.max))
        for item in ind.items
        if item.score is not None and item.score < item.max
    )
    text = _one_line(ind.text).rstrip(".")
    words = clause(ind.text)
    details = "; ".join(f"{clause(item)} ({figure})" for item, figure in items)
    sentence = t(
        "report.shortfall.points",
        code=ind.code,
        clause=words,
        score=ind.score,
        max=ind.max,
        items=details,
    )
    remedy = t("report.remedy.points", code=ind.code, clause=words)
    figure = _score_figure(ind.score, ind.max)
    return Shortfall(
        ind.code, text, figure, items=items, criterion=criterion, sentence=sentence, remedy=remedy
    )


def _recognition_shortfall(criterion: str, judgement: Judgement) -> Shortfall:
    need = ""
    words = clause(judgement.indicator.text)
    answer = judgement.answer
    threshold = format_percent(judgement.threshold or 0)
    if isinstance(answer, Counts) and judgement.threshold is not None:
        need = t(
            "report.need_counts",
            threshold=threshold,
            shortfall=judgement.shortfall,
            subject=judgement.indicator.subject,
        )
        sentence = t(
            "report.shortfall.counts",
            code=judgement.code,
            achieved=answer.achieved,
            total=answer.total,
            clause=words,
            percent=format_percent(answer.fraction),
            threshold=threshold,
            shortfall=judgement.shortfall,
            subject=judgement.indicator.subject,
        )
        remedy = t("report.remedy.counts", clause=words, threshold=threshold)
    else:
        sentence = t("report.shortfall.yes_no", code=judgement.code, clause=words)
        remedy = t("report.remedy.yes_no", clause=words)
    text = _one_line(judgement.indicator.text).rstrip(".")
    return Shortfall(
        judgement.code,
        text,
        _judgement_figure(judgement),
        need,
        criterion=criterion,
        sentence=sentence,
        remedy=remedy,
    )


def shortfalls(result: Result) -> list[Shortfall]:
    """What fell short, in questionnaire order: the heart of "tồn tại" and of the summary."""
    if isinstance(result, PointsResult):
        return [
            _points_shortfall(c.code, ind)
            for c in result.criteria
            for ind in c.indicators
            if ind.complete and ind.score < ind.max
        ]
    return [
        _recognition_shortfall(c.code, j)
        for c in result.criteria
        for j in c.judgements
        if j.status is Status.KHONG_DAT
    ]


def _applicable(result: RecognitionResult) -> list[Judgement]:
    return [j for j in result.judgements if j.status is not Status.KHONG_AP_DUNG]


def _met(result: RecognitionResult) -> list[Judgement]:
    return [j for j in result.judgements if j.status is Status.DAT]


def level_label(framework: Framework, year: int) -> str:
    """ "cấp huyện" / "cấp tỉnh", as it reads inside a sentence: the name of the level for the
    year (rubric/authorities.yaml: the units of TT 24's "cấp huyện" are cấp xã from 2025)."""
    level = framework.unit_level or "cap-huyen"
    return authority(level, year).level_label or t(f"level.{level}").lower()


@dataclass(frozen=True, slots=True)
class CriterionView:
    """A tiêu chí as the drafts speak of it: "Về …", how many of its chỉ tiêu were met, the
    lowest and highest percentages among those met, and what fell short."""

    code: str
    about: str
    met: int
    applicable: int
    full: bool
    score: str  # TT 22: "30/30"; TT 24: ""
    low: str
    high: str
    short: tuple[Shortfall, ...]

    @property
    def met_words(self) -> str:
        return count_words(self.met)

    @property
    def applicable_words(self) -> str:
        return count_words(self.applicable)


def _criterion_views(result: Result, short: list[Shortfall]) -> list[CriterionView]:
    views = []
    if isinstance(result, PointsResult):
        for c in result.criteria:
            mine = tuple(s for s in short if s.criterion == c.code)
            full = sum(1 for ind in c.indicators if ind.score == ind.max)
            views.append(
                CriterionView(
                    c.code,
                    about(c.title),
                    full,
                    len(c.indicators),
                    c.score == c.max,
                    f"{c.score}/{c.max}",
                    "",
                    "",
                    mine,
                )
            )
        return views
    for crit in result.criteria:
        applicable = [j for j in crit.judgements if j.status is not Status.KHONG_AP_DUNG]
        met = [j for j in applicable if j.status is Status.DAT]
        fractions = [j.answer.fraction for j in met if isinstance(j.answer, Counts)]
        low = format_percent(min(fractions)) if fractions else ""
        high = format_percent(max(fractions)) if fractions else ""
        mine = tuple(s for s in short if s.criterion == crit.code)
        views.append(
            CriterionView(
                crit.code,
                about(crit.title),
                len(met),
                len(applicable),
                crit.status is Status.DAT,
                "",
                low,
                high,
                mine,
            )
        )
    return views


def _draft_context(framework: Framework, result: Result, year: int) -> dict[str, Any]:
    """Figures the draft templates choose from; the sentences are in templates/chat/."""
    short = shortfalls(result)
    context: dict[str, Any] = {
        "framework": framework,
        "result": result,
        "points": isinstance(result, PointsResult),
        "year": year,
        "next_year": year + 1,
        "shortfalls": short,
        "criteria": _criterion_views(result, short),
        "level_label": level_label(framework, year),
        "can_rise": False,
    }
    if isinstance(result, RecognitionResult):
        context["can_rise"] = result.recognised and result.level < max(framework.levels or [1])
    return context


def draft_narratives(
    framework: Framework,
    result: Result,
    written: Narratives | None = None,
    *,
    year: int,
    supervising_name: str = "",
) -> Narratives:
    """Draft each section the unit left empty from its answers, flagged `draft=True`.

    Sections the unit wrote are kept as they are. Staff see the drafts in the chat and accept or
    rewrite them; a draft left as is is marked in the .docx so the signer notices it.
    """
    written = written or Narratives()
    context = _draft_context(framework, result, year)
    context["supervising"] = _one_line(supervising_name)
    sections: dict[str, Narrative] = {}
    for key in SECTION_KEYS:
        own = written.get(key)
        if own.written:
            sections[key] = own
        else:
            sections[key] = Narrative(render(f"report_draft_{key}.j2", **context), draft=True)
    return Narratives(**sections)


# --- The document ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedDate:
    """The date line's figures: ND 30 writes days below 10 and months 1, 2 with a leading 0."""

    day: str
    month: str
    year: str

    @classmethod
    def of(
        cls, issued: date | None, submitted_at: datetime | None, year: int | None = None
    ) -> IssuedDate:
        """The full date when known; else blanks for the clerk, with the year always: that of
        the submission, else the year after the assessment year (reports are filed then)."""
        blank = " " * 6
        if issued is not None:
            month = f"{issued.month:02d}" if issued.month < 3 else str(issued.month)
            return cls(f"{issued.day:02d}", month, str(issued.year))
        if submitted_at is not None:
            return cls(blank, blank, str(_local(submitted_at).year))
        return cls(blank, blank, str(year + 1) if year is not None else blank)


def _unit_view(unit: Unit) -> dict[str, str]:
    """The unit's fields as clean strings ("" when unknown: the template leaves it out)."""
    view = {
        name: _one_line(getattr(unit, name, None) or "")
        for name in UNIT_FIELDS
        if name != "member_count"
    }
    count = unit.member_count
    view["member_count"] = format_number(count) if count is not None else ""
    if not view["name"]:
        view["name"] = t("report.unit_unnamed")
    if view["signer_authority"].casefold() == view["signer_title"].casefold():
        # "Thẩm quyền ký" is the line above the title (KT. HIỆU TRƯỞNG); the title typed there
        # too would print "HIỆU TRƯỞNG / HIỆU TRƯỞNG": once is what the unit meant
        view["signer_authority"] = ""
    return view


def _symbol(unit: Unit, kind: str) -> str:
    """ "BC-UBND" for the báo cáo, "TTr-UBND" for the tờ trình, from the unit's ký hiệu; the
    kind alone when the unit has none ("Số:   /BC")."""
    symbol = _one_line(unit.doc_symbol).strip("/ ")
    for prefix in ("BC-", "TTr-", "TTR-", "BC", "TTr"):
        if symbol.startswith(prefix):
            symbol = symbol[len(prefix) :].lstrip("-")
            break
    return f"{kind}-{symbol}" if symbol else kind


def _recipients(data: ReportData) -> list[str]:
    """Nơi nhận: as given, else the recognising body (TT 24) and the supervising body "(b/c)";
    "Lưu: VT." is in the template."""
    given = [_one_line(name).rstrip(";.") for name in data.recipients]
    given = [name for name in given if name and not name.casefold().startswith("lưu")]
    if given or data.recipients:
        return given
    names: list[str] = []
    if data.framework.method == "recognition":
        names.append(data.recognising().addressee)
    supervising = _one_line(data.unit.supervising_name)
    if supervising and all(supervising.casefold() != n.casefold() for n in names):
        names.append(t("report.recipient_supervisor", name=supervising))
    return names


def _sections(narratives: Narratives) -> dict[str, dict[str, Any]]:
    return {
        key: {"paragraphs": narratives.get(key).paragraphs(), "draft": narratives.get(key).draft}
        for key in SECTION_KEYS
    }


def _points_context(result: PointsResult) -> dict[str, Any]:
    return {
        "rows": _points_rows(result),
        "total": result.total,
        "max_total": result.max_total,
        "classification": result.classification,
        "recognised": False,
    }


def _recognition_context(data: ReportData, result: RecognitionResult) -> dict[str, Any]:
    not_applicable = [j.code for j in result.judgements if j.status is Status.KHONG_AP_DUNG]
    body = data.recognising()
    return {
        "rows": _recognition_rows(data, result),
        "met": len(_met(result)),
        "applicable": len(_applicable(result)),
        "recognised": result.recognised,
        "overall": _status_label(Status.DAT if result.recognised else Status.KHONG_DAT),
        "unmet": ", ".join(result.unmet),
        "not_applicable": ", ".join(not_applicable),
        "level": result.level,
        "level_label": level_label(data.framework, data.year),
        "addressee": body.addressee,
        "decider": body.decider,
    }


def _subject(data: ReportData) -> str:
    """The trích yếu: the framework's `report.subject` with the year (and mức độ) filled in."""
    subject = data.framework.report.subject.replace("{year}", str(data.year))
    return subject.replace("{level}", str(data.level))


def _training(data: ReportData) -> str:
    training = data.extras.training
    if training is None or not any(
        v is not None
        for v in (training.classes, training.attendances, training.learners, training.planned)
    ):
        return ""
    plan = ""
    if training.planned and training.attendances is not None:
        plan = format_percent(Fraction(training.attendances, training.planned))
    return t(
        "report.training",
        year=data.year,
        classes=training.classes,
        attendances=training.attendances,
        learners=training.learners,
        planned=training.planned,
        plan=plan,
    )


def _members(data: ReportData) -> str:
    kinds = [(_one_line(label), count) for label, count in data.extras.members_by_kind]
    kinds = [(label, count) for label, count in kinds if label]
    if not kinds:
        return ""
    listed = ", ".join(f"{format_number(count)} {label}" for label, count in kinds)
    total = data.unit.member_count
    if total is None:
        total = sum(count for _, count in kinds)
    return t("report.members_by_kind", total=format_number(total), kinds=listed)


def _headings(context: dict[str, Any]) -> dict[str, str]:
    """The Roman numerals of the report's parts: "Công tác chỉ đạo" only when it has content."""
    parts = ["info", *(["directives"] if context["directives"] else []), "results", "assessment"]
    numerals = ("I", "II", "III", "IV", "V")
    return {name: numerals[index] for index, name in enumerate(parts)}


def report_context(data: ReportData) -> dict[str, Any]:
    """Everything the .docx templates print; raises ValueError for an unfinished assessment."""
    result = data.result()
    if not result.complete:
        raise ValueError("a report needs every indicator answered")
    subject = _subject(data)
    basis = _one_line(data.basis) or t(
        "report.basis_default", legal_basis=data.framework.legal_basis
    )
    unit = _unit_view(data.unit)
    issuing = header_lines(data.unit.issuing_name or unit["name"])
    context: dict[str, Any] = {
        "unit": unit,
        "issuing": issuing,
        "parent": header_lines(data.unit.parent_agency, written_out=False),
        "symbol": _symbol(data.unit, "BC"),
        "issued": IssuedDate.of(data.issued, data.submitted_at, data.year),
        "subject": subject,
        "subject_lower": _lower_first(subject),
        "basis": basis,
        "framework": data.framework,
        "year": data.year,
        "next_year": data.year + 1,
        "evidence": _evidence_groups(data, result),
        "sections": _sections(data.narratives),
        "recipients": _recipients(data),
        "directives": [_one_line(d).rstrip(";.") for d in data.extras.directives if d.strip()],
        "situation": Narrative(data.extras.situation).paragraphs(),
        "members_by_kind": _members(data),
        "training": _training(data),
    }
    context["heads"] = _headings(context)
    if isinstance(result, PointsResult):
        context.update(_points_context(result))
    else:
        context.update(_recognition_context(data, result))
    return context


def _docx_env() -> jinja2.Environment:
    """Escaping on (a "GD&ĐT" must not break the XML); a typo in a tag fails loudly."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["percent"] = format_percent
    env.filters["number"] = format_number
    return env


def _render(template: str, context: dict[str, Any]) -> DocxTemplate:
    source = files("templates").joinpath("report", template)
    document = DocxTemplate(BytesIO(source.read_bytes()))
    document.render(xml_safe_tree(context), jinja_env=_docx_env(), autoescape=True)
    return document


def render_report(data: ReportData, out_path: Path | str) -> Path:
    """Write the unit's BÁO CÁO (.docx) to `out_path` and return that path."""
    document = _render(f"{data.framework.method}.docx", report_context(data))
    return write_whole(Path(out_path), document.save)


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """One document of the dossier: its kind ("to-trinh", "bao-cao", "bang-tong-hop"), the file
    name it is sent under and its bytes (the storage side keeps them as it likes)."""

    kind: str
    name: str
    content: bytes


DOSSIER = ("to-trinh", "bao-cao", "bang-tong-hop")  # TT 24 Điều 10, in the order filed


def dossier_kinds(data: ReportData) -> tuple[str, ...]:
    """What the unit files: under TT 24 the three documents of Điều 10 (the tờ trình only when
    the answers meet the level asked: a request the figures refuse is not drafted); under TT 22
    the báo cáo alone."""
    if data.framework.method != "recognition":
        return ("bao-cao",)
    result = data.result()
    recognised = isinstance(result, RecognitionResult) and result.recognised
    return DOSSIER if recognised else DOSSIER[1:]


def document_name(kind: str, data: ReportData, suffix: str) -> str:
    """ "bao-cao-uy-ban-nhan-dan-phuong-pho-ninh-2025-3f9a2c.docx": by unit and year (ASCII,
    any system holds it), with a short suffix that tells apart two units of the same name."""
    unit = ascii_slug(_one_line(data.unit.name) or "don-vi")
    return t("report.document_name", kind=kind, unit=unit, year=data.year, suffix=suffix)


def render_document(kind: str, data: ReportData) -> bytes:
    """One document of the dossier as .docx bytes."""
    context = report_context(data)
    if kind == "bao-cao":
        template = f"{data.framework.method}.docx"
    elif kind == "to-trinh":
        context["symbol"] = _symbol(data.unit, "TTr")
        template = "proposal.docx"
    elif kind == "bang-tong-hop":
        context["symbol"] = ""  # attached to the báo cáo: no number of its own
        template = "tally.docx"
    else:
        raise ValueError(f"not a dossier document: {kind!r}")
    buffer = BytesIO()
    _render(template, context).save(buffer)
    return buffer.getvalue()


def render_dossier(data: ReportData, suffix: str) -> list[RenderedDocument]:
    """Every document the unit files (`dossier_kinds`), each as (kind, file name, bytes)."""
    return [
        RenderedDocument(kind, document_name(kind, data, suffix), render_document(kind, data))
        for kind in dossier_kinds(data)
    ]


# --- The chat summary ------------------------------------------------------------------------


def _summary_params(data: ReportData, result: Result) -> dict[str, Any]:
    params: dict[str, Any] = {
        "unit": _one_line(data.unit.name),
        "subject": _lower_first(_subject(data)),
        "framework": data.framework,
        "year": data.year,
        "result": result,
        "points": isinstance(result, PointsResult),
        "drafts": [t(f"report.section.{key}") for key in data.narratives.drafts()],
        "submitted_by": _one_line(data.submitted_by),
        "submitted_at": _local(data.submitted_at) if data.submitted_at else None,
    }
    if isinstance(result, RecognitionResult):
        params["met"] = len(_met(result))
        params["applicable"] = len(_applicable(result))
        params["level_label"] = level_label(data.framework, data.year)
    return params


def _fitting(params: dict[str, Any], short: list[Shortfall]) -> Iterator[str]:
    """Renderings with ever fewer shortfalls listed, from all of them down to none."""
    for shown in range(len(short), -1, -1):
        yield render("report_summary.j2", shown=short[:shown], hidden=len(short) - shown, **params)


def summary_text(data: ReportData, *, limit: int = SUMMARY_LIMIT) -> str:
    """The result in one message: unit, framework and year, total or recognition, subtotals,
    what fell short, who submitted and when; never longer than `limit` characters.

    When the shortfalls do not fit, the list ends with "…và N chỉ tiêu khác"; in the unlikely case
    that even none fit (an enormous unit name), the text is cut with "…".
    """
    result = data.result()
    params = _summary_params(data, result)
    text = ""
    for text in _fitting(params, shortfalls(result)):
        if len(text) <= limit:
            return text
    return text[: limit - 1].rstrip() + "…"


def draft_message(key: str, narrative: Narrative, *, limit: int = SUMMARY_LIMIT) -> str:
    """A drafted section shown in the chat for staff to accept or rewrite (≤ `limit` chars)."""
    text = render(
        "report_draft_message.j2", section=t(f"report.section.{key}"), narrative=narrative
    )
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def with_narratives(data: ReportData, narratives: Narratives) -> ReportData:
    """`data` with its section III replaced (e.g. by `draft_narratives`' output)."""
    return replace(data, narratives=narratives)
