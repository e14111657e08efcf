"""The unit's BÁO CÁO as a Word document, its chat summary, and drafts of its narrative sections.

Hand-typed reports get their sums wrong (seeds/002 states 98 for 93), so nothing here takes a
figure from people: subtotals, total, percentages, classification and recognition all come from
`rubric.scoring.evaluate` on the answers. The words live in templates: the .docx files under
templates/report/ (docxtpl, editable in Word), the jinja2 files under templates/chat/ and the
catalogue templates/messages.vi.yaml; this module only assembles the figures for them.

Entry points: `render_report` (the .docx), `summary_text` (one chat message, at most 2,000
characters so it fits Zalo as well as Telegram), `draft_narratives` (ưu điểm, tồn tại, kiến nghị,
phương hướng drafted from the answers where the unit wrote nothing, flagged as drafts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate  # type: ignore[import-untyped]

from rubric.answers import Answer, Counts, YesNo
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
from templates.xmlsafe import xml_safe_tree

SUMMARY_LIMIT = 2000  # Zalo's limit for one message (Telegram's is 4,096)
SECTION_KEYS = ("uu_diem", "ton_tai", "kien_nghi", "phuong_huong")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # docxtpl turns \a, \f, \t into layout


@dataclass(frozen=True, slots=True)
class ReportUnit(Unit):
    """A unit not kept in storage (the command line, tests): a `storage.base.Unit` whose name,
    kind and level may be left out; blanks become dotted lines in the report."""

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
    # chỉ tiêu code -> the group its total counts, as the unit named it ("cán bộ, công chức"),
    # when the total is only a part of the members (conversations.part_notes); for the table.
    part_notes: Mapping[str, str] = field(default_factory=dict)

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


def _measured(answer: Answer | None) -> str:
    """The "Kết quả của đơn vị" cell: "31/32 (96,9%)", "Có", "Không" or a dash."""
    match answer:
        case Counts(achieved, total):
            percent = format_percent(answer.fraction)
            return t("report.result_counts", achieved=achieved, total=total, percent=percent)
        case YesNo(met):
            return t("report.result_yes" if met else "report.result_no")
    return t("report.result_na")


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


def _recognition_rows(result: RecognitionResult) -> list[RecognitionRow]:
    rows: list[RecognitionRow] = []
    for criterion in result.criteria:
        status = _status_label(criterion.status)
        rows.append(RecognitionRow(criterion.code, criterion.title, "", "", status, True))
        for j in criterion.judgements:
            rows.append(
                RecognitionRow(
                    j.code,
                    j.indicator.text,
                    _requirement(j.indicator),
                    _measured(j.answer),
                    _status_label(j.status),
                )
            )
    return rows


# --- Evidence narrative per indicator -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidencePart:
    label: str  # an item's wording before its first paragraph (the 8 items of 3a), else ""
    text: str


@dataclass(frozen=True, slots=True)
class EvidenceBlock:
    code: str
    text: str
    figure: str
    parts: tuple[EvidencePart, ...]


def _parts(text: str | None, label: str = "") -> list[EvidencePart]:
    paragraphs = Narrative(text or "").paragraphs()
    return [EvidencePart(label if i == 0 else "", p) for i, p in enumerate(paragraphs)]


def _indicator_figures(result: Result) -> dict[str, str]:
    """Each indicator's result as words, for the heading of its evidence paragraph."""
    if isinstance(result, PointsResult):
        return {
            ind.code: _score_figure(ind.score, ind.max)
            for criterion in result.criteria
            for ind in criterion.indicators
        }
    return {j.code: _judgement_figure(j) for j in result.judgements}


def _evidence_blocks(data: ReportData, result: Result) -> list[EvidenceBlock]:
    """Indicators the unit wrote evidence for, in questionnaire order (the others are left out)."""
    figures = _indicator_figures(result)
    blocks = []
    for base in data.framework.indicators:
        indicator = base.for_kind(data.kind)
        parts = _parts(data.evidence.get(indicator.code))
        for item in indicator.items:
            parts += _parts(data.evidence.get(item.code), _one_line(item.text).rstrip("."))
        if parts:
            text = _one_line(indicator.text).rstrip(".")
            blocks.append(
                EvidenceBlock(indicator.code, text, figures[indicator.code], tuple(parts))
            )
    return blocks


# --- Shortfalls and strengths (drafts and the summary) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Shortfall:
    """An indicator below its maximum (TT 22) or không đạt (TT 24), with its figures."""

    code: str
    text: str
    figure: str
    need: str = ""  # "yêu cầu tối thiểu 90%, còn thiếu 2 thành viên"
    items: tuple[tuple[str, str], ...] = ()  # (item wording, "2/3 điểm") below their maximum


def _points_shortfall(ind: IndicatorScore) -> Shortfall:
    items = tuple(
        (_one_line(item.text).rstrip("."), _score_figure(item.score or 0, item.max))
        for item in ind.items
        if item.score is not None and item.score < item.max
    )
    text = _one_line(ind.text).rstrip(".")
    return Shortfall(ind.code, text, _score_figure(ind.score, ind.max), items=items)


def _recognition_shortfall(judgement: Judgement) -> Shortfall:
    need = ""
    if isinstance(judgement.answer, Counts) and judgement.threshold is not None:
        need = t(
            "report.need_counts",
            threshold=format_percent(judgement.threshold),
            shortfall=judgement.shortfall,
            subject=judgement.indicator.subject,
        )
    text = _one_line(judgement.indicator.text).rstrip(".")
    return Shortfall(judgement.code, text, _judgement_figure(judgement), need)


def shortfalls(result: Result) -> list[Shortfall]:
    """What fell short, in questionnaire order: the heart of "tồn tại" and of the summary."""
    if isinstance(result, PointsResult):
        return [_points_shortfall(ind) for ind in result.below_maximum()]
    return [_recognition_shortfall(j) for j in result.judgements if j.status is Status.KHONG_DAT]


def _applicable(result: RecognitionResult) -> list[Judgement]:
    return [j for j in result.judgements if j.status is not Status.KHONG_AP_DUNG]


def _met(result: RecognitionResult) -> list[Judgement]:
    return [j for j in result.judgements if j.status is Status.DAT]


def _level_label(framework: Framework) -> str:
    """ "cấp huyện" / "cấp tỉnh", as it reads inside a sentence."""
    return t(f"level.{framework.unit_level or 'cap-huyen'}").lower()


def _points_strengths(result: PointsResult) -> dict[str, Any]:
    """Criteria at full marks, and the full-mark indicators of the other criteria."""
    full = [c for c in result.criteria if c.score == c.max]
    others = [ind for c in result.criteria if c not in full for ind in c.indicators]
    return {
        "full_criteria": full,
        "full_indicators": [ind.code for ind in others if ind.score == ind.max],
    }


def _recognition_strengths(framework: Framework, result: RecognitionResult) -> dict[str, Any]:
    """Criteria đạt, and each counted chỉ tiêu đạt with its figure and threshold."""
    strong = [
        (j.code, _judgement_figure(j), format_percent(j.threshold))
        for j in _met(result)
        if isinstance(j.answer, Counts) and j.threshold is not None
    ]
    return {
        "met_criteria": [c for c in result.criteria if c.status is Status.DAT],
        "strong": strong,
        "level_label": _level_label(framework),
    }


def _draft_context(framework: Framework, result: Result, year: int) -> dict[str, Any]:
    """Figures the draft templates choose from; the sentences are in templates/chat/."""
    context: dict[str, Any] = {
        "framework": framework,
        "result": result,
        "points": isinstance(result, PointsResult),
        "year": year,
        "next_year": year + 1,
        "shortfalls": shortfalls(result),
    }
    if isinstance(result, PointsResult):
        context.update(_points_strengths(result))
    else:
        context.update(_recognition_strengths(framework, result))
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
    def of(cls, issued: date | None, submitted_at: datetime | None) -> IssuedDate:
        """The full date when known; else blanks for the clerk, with the year of submission."""
        blank = " " * 6
        if issued is not None:
            month = f"{issued.month:02d}" if issued.month < 3 else str(issued.month)
            return cls(f"{issued.day:02d}", month, str(issued.year))
        year = str(_local(submitted_at).year) if submitted_at else blank
        return cls(blank, blank, year)


def _unit_view(unit: Unit) -> dict[str, str]:
    """The unit's fields as clean strings ("" when unknown; the template prints dotted lines)."""
    view = {
        name: _one_line(getattr(unit, name, None) or "")
        for name in UNIT_FIELDS
        if name != "member_count"
    }
    count = unit.member_count
    view["member_count"] = format_number(count) if count is not None else ""
    if not view["name"]:
        view["name"] = t("report.blank")
    return view


def _recipients(data: ReportData) -> list[str]:
    """Nơi nhận: as given, else the supervising body "(b/c)"; "Lưu: VT." is in the template."""
    given = [_one_line(name).rstrip(";.") for name in data.recipients]
    given = [name for name in given if name and not name.casefold().startswith("lưu")]
    if given or data.recipients:
        return given
    supervising = _one_line(data.unit.supervising_name)
    return [t("report.recipient_supervisor", name=supervising)] if supervising else []


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
    }


def _recognition_context(framework: Framework, result: RecognitionResult) -> dict[str, Any]:
    not_applicable = [j.code for j in result.judgements if j.status is Status.KHONG_AP_DUNG]
    return {
        "rows": _recognition_rows(result),
        "met": len(_met(result)),
        "applicable": len(_applicable(result)),
        "recognised": result.recognised,
        "overall": _status_label(Status.DAT if result.recognised else Status.KHONG_DAT),
        "unmet": ", ".join(result.unmet),
        "not_applicable": ", ".join(not_applicable),
        "level": result.level,
        "level_label": _level_label(framework),
    }


def _subject(data: ReportData) -> str:
    """The trích yếu: the framework's `report.subject` with the year (and mức độ) filled in."""
    subject = data.framework.report.subject.replace("{year}", str(data.year))
    return subject.replace("{level}", str(data.level))


def report_context(data: ReportData) -> dict[str, Any]:
    """Everything the .docx template prints; raises ValueError for an unfinished assessment."""
    result = data.result()
    if not result.complete:
        raise ValueError("a report needs every indicator answered")
    subject = _subject(data)
    basis = _one_line(data.basis) or t(
        "report.basis_default", legal_basis=data.framework.legal_basis
    )
    context: dict[str, Any] = {
        "unit": _unit_view(data.unit),
        "blank": t("report.blank"),
        "kind_label": data.kind.label,
        "issued": IssuedDate.of(data.issued, data.submitted_at),
        "subject": subject,
        "subject_lower": _lower_first(subject),
        "basis": basis,
        "framework": data.framework,
        "year": data.year,
        "next_year": data.year + 1,
        "evidence": _evidence_blocks(data, result),
        "sections": _sections(data.narratives),
        "recipients": _recipients(data),
    }
    if isinstance(result, PointsResult):
        context.update(_points_context(result))
    else:
        context.update(_recognition_context(data.framework, result))
    return context


def _docx_env() -> jinja2.Environment:
    """Escaping on (a "GD&ĐT" must not break the XML); a typo in a tag fails loudly."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["percent"] = format_percent
    env.filters["number"] = format_number
    return env


def render_report(data: ReportData, out_path: Path | str) -> Path:
    """Write the unit's BÁO CÁO (.docx) to `out_path` and return that path."""
    out = Path(out_path)
    source = files("templates").joinpath("report", f"{data.framework.method}.docx")
    document = DocxTemplate(BytesIO(source.read_bytes()))
    context = xml_safe_tree(report_context(data))  # an old row's stray character: dropped
    document.render(context, jinja_env=_docx_env(), autoescape=True)
    return write_whole(out, document.save)


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
        params["level_label"] = _level_label(data.framework)
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
