"""`python -m bot report ANSWERS_FILE --out FILE.docx [--pdf]`: the report without any chat;
`--dossier --out DIR`: every document the unit files (Thông tư 24/2023 Điều 10: the tờ trình,
the báo cáo tự đánh giá and the bảng tổng hợp; Thông tư 22/2020: the báo cáo alone).

For re-rendering a unit's report and for tests. ANSWERS_FILE (YAML or JSON) is either

- a full file, a mapping with `framework` (id), `year`, `unit` (the fields of `ReportUnit`:
  name, kind, level, parent_agency, supervising_name, address, phone, email, member_count,
  place_name, doc_symbol, signer_authority, signer_title, signer_name), `answers` (leaf code ->
  answer, as in `python -m rubric score`), and optionally `evidence` (code -> text), `narratives`
  (uu_diem, ton_tai, kien_nghi, phuong_huong), `basis`, `recipients`, `date` (YYYY-MM-DD),
  `level1_decision_date` and `submitted_on` (YYYY-MM-DD, Thông tư 24/2023: see below), and the
  optional parts real reports carry: `directives` (the documents received and issued, a list),
  `members_by_kind` (kind -> number of people), `situation` (text), `training` (classes,
  attendances, learners, planned: whole numbers) and `part_notes` (code -> which part of the
  members a chỉ tiêu's total counts, e.g. "cán bộ, công chức");
- or a flat answers file of `python -m rubric score` with `--framework ID` (and optionally
  `--unit-kind`, `--year`: without it the framework's last year is taken, and stderr says so);
  the unit's details are then left out of the report.

Under Thông tư 24/2023 the report is written at the level the unit asks recognition at: mức độ 2
when its answers meet mức độ 2 and its mức độ 1 decision (`--level1-decision-date`) is at least
12 months before `--submitted-on` (default today), else mức độ 1; `--level` forces a level.

Sections the file does not write are drafted from the answers and marked as drafts. Success prints
the written path(s) on stdout. Bad input prints one Vietnamese line on stderr, nothing on stdout,
and exits with status 2, like `python -m rubric`. `--pdf` without LibreOffice still writes the
.docx, says so on stderr and exits 0: the .docx is the document asked for, the PDF a convenience
that the clerk can also make in Word; a failed conversion with LibreOffice present exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from rubric.answers import Answer, AnswerError, leaf_specs, parse_answers
from rubric.cli import DEFAULT_KIND, CliError, chosen_level, parse_date, read_answers_file, resolve
from rubric.levels import judge_levels
from rubric.loader import RubricError
from rubric.model import Framework, Kind
from templates.files import write_whole
from templates.report import (
    SECTION_KEYS,
    UNIT_FIELDS,
    Extras,
    Narrative,
    Narratives,
    ReportData,
    ReportUnit,
    Training,
    dossier_kinds,
    draft_narratives,
    render_dossier,
    render_report,
    summary_text,
)
from templates.text import os_reason, t

FULL_KEYS = (
    "framework",
    "year",
    "unit",
    "answers",
    "evidence",
    "narratives",
    "basis",
    "recipients",
    "date",
    "level1_decision_date",
    "submitted_on",
    "directives",
    "members_by_kind",
    "situation",
    "training",
    "part_notes",
)
TRAINING_KEYS = ("classes", "attendances", "learners", "planned")
PDF_TIMEOUT = 180  # seconds; a cold LibreOffice start on a slow machine takes a while


class PdfError(Exception):
    """LibreOffice is present but could not convert the document."""


@dataclass(frozen=True)
class Source:
    """The answers file and the options that complete a flat one."""

    path: Path
    framework: str | None
    unit_kind: str
    year: int | None
    level: str | None = None
    level1_decision_date: date | None = None
    submitted_on: date | None = None


def _mapping(value: object, path: Path, key: str) -> dict[str, Any]:
    """`value` as a mapping with string keys, or the one-line complaint about `key`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CliError(t("report.bad_field", path=path, key=key, expected=t("report.type.mapping")))
    return {str(k).strip(): v for k, v in value.items()}


def _text(value: object, path: Path, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CliError(t("report.bad_field", path=path, key=key, expected=t("report.type.text")))
    return str(value)


def _check_keys(data: Mapping[str, object], allowed: tuple[str, ...], path: Path) -> None:
    """Unknown keys are errors: a misspelt "narative" must not silently drop a section."""
    for key in data:
        if key not in allowed:
            known = ", ".join(allowed)
            raise CliError(t("report.unknown_key", path=path, key=key, known=known))


def _unit(raw: dict[str, Any], path: Path) -> ReportUnit:
    """The unit's details; member_count a whole number, every other field text."""
    _check_keys(raw, UNIT_FIELDS, path)
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        key = f"unit.{name}"
        if name == "member_count":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):  # fmt: skip
                expected = t("report.type.count")
                raise CliError(t("report.bad_field", path=path, key=key, expected=expected))
            fields[name] = value
        else:
            fields[name] = _text(value, path, key) or None
    if not fields.get("name"):
        raise CliError(t("report.missing_field", path=path, key="unit.name"))
    fields.setdefault("kind", DEFAULT_KIND)
    return ReportUnit(**fields)


def _year(value: object, path: Path, framework: Framework) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CliError(t("report.bad_field", path=path, key="year", expected=t("report.type.year")))
    if value not in framework.years:
        years = f"{framework.years.first}–{framework.years.last or ''}"
        raise CliError(t("report.year_outside", year=value, framework=framework.id, years=years))
    return value


def _date(value: object, path: Path, key: str = "date") -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        expected = t("report.type.date")
        raise CliError(t("report.bad_field", path=path, key=key, expected=expected)) from exc


def _narratives(raw: dict[str, Any], path: Path) -> Narratives:
    _check_keys(raw, SECTION_KEYS, path)
    texts = {key: _text(raw.get(key), path, f"narratives.{key}") for key in SECTION_KEYS}
    return Narratives(**{key: Narrative(text) for key, text in texts.items()})


def _evidence(raw: dict[str, Any], path: Path, framework: Framework, kind: Kind) -> dict[str, str]:
    """Evidence by leaf or indicator code; an unknown code is an error, as for answers."""
    known = set(leaf_specs(framework, kind)) | {ind.code for ind in framework.indicators}
    for code in raw:
        if code not in known:
            raise CliError(t("report.evidence_code", path=path, code=code))
    return {code: _text(text, path, f"evidence.{code}") for code, text in raw.items()}


def _recipients(value: object, path: Path, key: str = "recipients") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        expected = t("report.type.texts")
        raise CliError(t("report.bad_field", path=path, key=key, expected=expected))
    return list(value)


def _count(value: object, path: Path, key: str, expected: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CliError(t("report.bad_field", path=path, key=key, expected=t(expected)))
    return value


def _extras(data: dict[str, Any], path: Path) -> Extras:
    """The optional parts: directives, members by kind, the situation and training figures."""
    directives = _recipients(data.get("directives"), path, "directives")
    members = _mapping(data.get("members_by_kind"), path, "members_by_kind")
    by_kind = tuple(
        (
            _text(label, path, "members_by_kind"),
            _count(n, path, f"members_by_kind.{label}", "report.type.members"),
        )
        for label, n in members.items()
    )
    raw_training = _mapping(data.get("training"), path, "training")
    _check_keys(raw_training, TRAINING_KEYS, path)
    figures = {
        key: _count(value, path, f"training.{key}", "report.type.training")
        for key, value in raw_training.items()
        if value is not None
    }
    return Extras(
        directives=tuple(directives),
        members_by_kind=by_kind,
        situation=_text(data.get("situation"), path, "situation"),
        training=Training(**figures) if figures else None,
    )


def _part_notes(raw: dict[str, Any], path: Path, framework: Framework) -> dict[str, str]:
    known = {ind.code for ind in framework.indicators}
    for code in raw:
        if code not in known:
            raise CliError(t("report.evidence_code", path=path, code=code))
    return {code: _text(text, path, f"part_notes.{code}") for code, text in raw.items()}


def _answers(framework: Framework, kind: Kind, raw: dict[str, Any]) -> dict[str, Answer]:
    try:
        return parse_answers(framework, kind, raw)
    except AnswerError as exc:
        raise CliError(exc.message()) from exc


def _framework_id(data: dict[str, Any], source: Source) -> str:
    in_file = _text(data.get("framework"), source.path, "framework")
    if in_file and source.framework and in_file != source.framework:
        raise CliError(t("report.framework_conflict", path=source.path, in_file=in_file,
                         option=source.framework))  # fmt: skip
    framework_id = in_file or source.framework
    if not framework_id:
        raise CliError(t("report.needs_framework", path=source.path))
    return framework_id


def _full(data: dict[str, Any], source: Source) -> ReportData:
    """A full file: unit, answers, evidence, narratives, basis and recipients."""
    path = source.path
    _check_keys(data, FULL_KEYS, path)
    unit = _unit(_mapping(data.get("unit"), path, "unit"), path)
    framework, kind = resolve(_framework_id(data, source), unit.kind)
    if data.get("year") is None:
        raise CliError(t("report.missing_field", path=path, key="year"))
    year = _year(data.get("year"), path, framework)
    answers = _mapping(data.get("answers"), path, "answers")
    return ReportData(
        unit=unit,
        framework=framework,
        year=year,
        answers=_answers(framework, kind, answers),
        evidence=_evidence(_mapping(data.get("evidence"), path, "evidence"), path, framework, kind),
        narratives=_narratives(_mapping(data.get("narratives"), path, "narratives"), path),
        basis=_text(data.get("basis"), path, "basis"),
        recipients=_recipients(data.get("recipients"), path),
        issued=_date(data.get("date"), path),
        part_notes=_part_notes(
            _mapping(data.get("part_notes"), path, "part_notes"), path, framework
        ),
        extras=_extras(data, path),
    )


def _flat(data: dict[str, Any], source: Source) -> ReportData:
    """A flat answers file: the framework from --framework, blank unit details."""
    if not source.framework:
        raise CliError(t("report.needs_framework", path=source.path))
    framework, kind = resolve(source.framework, source.unit_kind)
    year = source.year
    if year is None:
        year = framework.years.last or _current_year(framework)
        print(t("report.year_taken", path=source.path, year=year), file=sys.stderr)
    return ReportData(
        unit=ReportUnit(kind=kind.id, level=framework.unit_level or "cap-huyen"),
        framework=framework,
        year=_year(year, source.path, framework),
        answers=_answers(framework, kind, data),
    )


def _current_year(framework: Framework) -> int:
    """A framework still in force (no last year) reports on the year just ended."""
    return max(framework.years.first, date.today().year - 1)


def load_report_data(source: Source, today: date | None = None) -> ReportData:
    """Read and check the answers file; CliError names the first problem in one line."""
    data = read_answers_file(source.path)
    is_full = any(key in data for key in FULL_KEYS)  # leaf codes ("1a", "2.1") never clash
    report = _full(data, source) if is_full else _flat(data, source)
    decided = source.level1_decision_date or _date(
        data.get("level1_decision_date"), source.path, "level1_decision_date"
    )
    submitted = source.submitted_on or _date(data.get("submitted_on"), source.path, "submitted_on")
    level = _report_level(report, source.level, decided, submitted or today or date.today())
    report = replace(report, level=level)
    drafted = draft_narratives(
        report.framework,
        report.result(),
        report.narratives,
        year=report.year,
        supervising_name=report.unit.supervising_name or "",
    )
    return replace(report, narratives=drafted)


def _report_level(
    report: ReportData, forced: str | None, decided: date | None, submitted_on: date
) -> int:
    """`--level`, else the level the unit asks: mức độ 2 when met and eligible, else 1."""
    framework = report.framework
    if forced is not None:
        return chosen_level(framework, forced)
    if framework.method != "recognition" or len(framework.levels) < 2:
        return 1
    levels = judge_levels(
        framework,
        report.kind,
        report.answers,
        submitted_on=submitted_on,
        level1_decision_date=decided,
    )
    return levels.requested_level or 1


def to_pdf(docx: Path) -> Path | None:
    """Convert with LibreOffice beside the .docx; None when LibreOffice is not installed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        command = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
                   "--convert-to", "pdf", "--outdir", str(docx.parent), str(docx)]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PDF_TIMEOUT,
                                  check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfError(str(exc)) from exc
    pdf = docx.with_suffix(".pdf")
    if done.returncode != 0 or not pdf.is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise PdfError(detail[-1] if detail else f"soffice exit {done.returncode}")
    return pdf


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot report", description=t("report.cli.description")
    )
    parser.add_argument("answers", help=t("report.cli.answers"))
    parser.add_argument("--out", required=True, help=t("report.cli.out"))
    parser.add_argument("--dossier", action="store_true", help=t("report.cli.dossier"))
    parser.add_argument("--pdf", action="store_true", help=t("report.cli.pdf"))
    parser.add_argument("--framework", help=t("report.cli.framework"))
    parser.add_argument("--unit-kind", default=DEFAULT_KIND,
                        help=t("report.cli.unit_kind", default=DEFAULT_KIND))  # fmt: skip
    parser.add_argument("--year", type=int, help=t("report.cli.year"))
    parser.add_argument("--summary", action="store_true", help=t("report.cli.summary"))
    parser.add_argument("--level", help=t("report.cli.level"))
    parser.add_argument("--level1-decision-date", help=t("report.cli.level1_decision_date"))
    parser.add_argument("--submitted-on", help=t("report.cli.submitted_on"))
    return parser


def _write(report: ReportData, out: Path) -> Path:
    try:
        return render_report(report, out)
    except OSError as exc:
        raise CliError(t("report.write_failed", path=out, detail=os_reason(exc))) from exc


def dossier_suffix(report: ReportData) -> str:
    """A short suffix that tells apart two units of the same name and stays the same for the
    same unit and year (a second run replaces the files of the first)."""
    key = "|".join((report.unit.name, report.unit.address or "", str(report.year)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:6]


def _write_dossier(report: ReportData, folder: Path) -> list[Path]:
    """Every document of the dossier into `folder` (created when missing)."""
    if folder.exists() and not folder.is_dir():
        raise CliError(t("report.cli.out_dossier", path=folder))
    written = []
    try:
        for document in render_dossier(report, dossier_suffix(report)):
            path = folder / document.name
            written.append(write_whole(path, _writer(document.content)))
    except OSError as exc:
        raise CliError(t("report.write_failed", path=folder, detail=os_reason(exc))) from exc
    if "to-trinh" not in dossier_kinds(report):
        print(t("report.dossier_no_request", level=report.level), file=sys.stderr)
    return written


def _writer(content: bytes) -> Callable[[str], object]:
    return lambda partial: Path(partial).write_bytes(content)


def _pdf_step(docx: Path) -> int:
    """Exit status of the optional PDF step; the .docx is already written either way."""
    try:
        pdf = to_pdf(docx)
    except PdfError as exc:
        print(t("report.pdf_failed", docx=docx, detail=str(exc)), file=sys.stderr)
        return 1
    if pdf is None:
        print(t("report.pdf_unavailable", docx=docx), file=sys.stderr)
        return 0
    print(pdf)
    return 0


def _option_date(value: str | None, option: str) -> date | None:
    return None if value is None else parse_date(value, option)


def main(argv: list[str] | None = None) -> int:
    """Entry of `python -m bot report …`; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")  # Vietnamese output even under LANG=C
    args = build_parser().parse_args(argv)
    try:
        source = Source(
            Path(args.answers),
            args.framework,
            args.unit_kind,
            args.year,
            args.level,
            _option_date(args.level1_decision_date, "--level1-decision-date"),
            _option_date(args.submitted_on, "--submitted-on"),
        )
        report = load_report_data(source)
        if args.dossier:
            documents = _write_dossier(report, Path(args.out))
        else:
            documents = [_write(report, Path(args.out))]
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except RubricError as exc:
        print(t("cli.rubric_invalid"), str(exc).replace("\n", "; "), file=sys.stderr)
        return 2
    status = 0
    for docx in documents:
        print(docx)
        if args.pdf:
            status = max(status, _pdf_step(docx))
    if args.summary:
        print(summary_text(report))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
