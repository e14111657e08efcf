"""The report of an assessment in three steps, each its own function (the last two may run
after the turn's commit, off the chat's turn):

1. `report_data`: what the report says, read from the database and scored once (cheap);
2. `summary_text` (templates.report): the one-message summary, from that data;
3. `write_reports`: the dossier's .docx files rendered from that data (slow: files on disk):
   under Thông tư 24/2023 the tờ trình, the báo cáo and the bảng tổng hợp; under Thông tư
   22/2020 the báo cáo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from conversations.events import OutgoingFile
from conversations.results import Standing, result_level, standing
from conversations.working import Working
from rubric.authorities import Authority, authority
from storage.base import Assessment, Transaction, Unit
from templates.files import write_whole
from templates.report import (
    SECTION_KEYS,
    Narrative,
    Narratives,
    RenderedDocument,
    ReportData,
    document_name,
    draft_narratives,
    render_document,
    render_dossier,
)
from templates.text import t

REPORT_KIND = "bao-cao"  # the báo cáo tự đánh giá among the dossier's documents


async def report_data(
    tx: Transaction, work: Working, today: date, known: Standing | None = None
) -> ReportData:
    """Everything the report and its summary say, read from the database and scored once:
    the answers and evidence, part III (drafts for the sections the unit did not write), who
    submitted it and when. `known`: the standing the caller already computed for this turn;
    `today` scores an assessment still in progress (a submitted one keeps its own date).

    Database reads and scoring only: a turn may call it; rendering is `write_reports`, a job.
    """
    unit, assessment, q = work
    records = await tx.answers(assessment.id)
    answers = q.decode(records)
    result = (known or standing(work, answers, today)).result
    stored = await tx.narratives(assessment.id)
    # The unit's own words are kept; a section whose draft the unit accepted (is_draft) is
    # drafted again from the answers as they stand, so it never contradicts them, and is
    # printed as accepted (not flagged as a draft).
    written = Narratives(
        **{
            key: Narrative(text)
            for key, (text, draft) in stored.items()
            if key in SECTION_KEYS and not draft
        }
    )
    accepted = {key for key, (_, draft) in stored.items() if draft and key in SECTION_KEYS}
    submitter = await tx.get_person(assessment.submitted_by) if assessment.submitted_by else None
    narratives = draft_narratives(
        q.framework,
        result,
        written,
        year=assessment.year,
        supervising_name=unit.supervising_name or "",
    )
    narratives = Narratives(
        **{
            key: replace(narratives.get(key), draft=False)
            if key in accepted
            else narratives.get(key)
            for key in SECTION_KEYS
        }
    )
    supervisor = await tx.get_unit(unit.supervisor_id) if unit.supervisor_id else None
    return ReportData(
        unit=unit,
        authority=_recognising(unit, supervisor, q.framework.unit_level, assessment.year),
        framework=q.framework,
        year=assessment.year,
        answers=answers,
        evidence={code: r.evidence for code, r in records.items() if r.evidence},
        narratives=narratives,
        submitted_by=submitter.display_name if submitter else "",
        submitted_at=assessment.submitted_at,
        level=result_level(result),
        scored=result,
        part_notes={
            code: note for code, note in (await tx.part_notes(assessment.id)).items() if note
        },
    )


def _recognising(unit: Unit, supervisor: Unit | None, level: str | None, year: int) -> Authority:
    """The body the dossier goes to: the unit's own setting, else its supervising unit's (set
    once for all its units), else the year's default (rubric/authorities.yaml)."""
    return authority(level or "cap-huyen", year, *recognising_settings(unit, supervisor))


def recognising_settings(unit: Unit, supervisor: Unit | None) -> tuple[str | None, str | None]:
    """Who names the recognising body, in the order asked: the unit, then its supervising unit."""
    return unit.recognising_body, supervisor.recognising_body if supervisor else None


def file_suffix(assessment: Assessment) -> str:
    """Six hex digits, the same for each rendering of an assessment (the newest files replace
    the last) and different between two units of the same name; no id shows in the name."""
    return hashlib.sha256(f"assessment:{assessment.id}".encode()).hexdigest()[:6]


def write_reports(folder: Path, assessment: Assessment, data: ReportData) -> list[OutgoingFile]:
    """Render the dossier of `data` into `folder`, as the files to send, in the order filed.

    No database and no chat: only the files (the slow part of a submission), so it can run
    apart from the turn that submitted. Each file is named by unit and year
    ("bao-cao-truong-tieu-hoc-pho-ninh-2025-3f9a2c.docx").
    """
    suffix = file_suffix(assessment)
    return [_write(folder, assessment, document) for document in render_dossier(data, suffix)]


def write_report(folder: Path, assessment: Assessment, data: ReportData) -> OutgoingFile:
    """The báo cáo tự đánh giá alone (what the supervising level's page offers to download),
    named as in the dossier."""
    document = RenderedDocument(
        REPORT_KIND,
        document_name(REPORT_KIND, data, file_suffix(assessment)),
        render_document(REPORT_KIND, data),
    )
    return _write(folder, assessment, document)


def _write(folder: Path, assessment: Assessment, document: RenderedDocument) -> OutgoingFile:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_whole(folder / document.name, _writer(document.content))
    caption = t(f"report.document_caption.{document.kind}", year=assessment.year)
    return OutgoingFile(path, document.name, caption)


def _writer(content: bytes) -> Callable[[str], object]:
    return lambda partial: Path(partial).write_bytes(content)
