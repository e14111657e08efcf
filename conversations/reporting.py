"""The report of an assessment in three steps, each its own function (the last two may run
after the turn's commit, off the chat's turn):

1. `report_data`: what the report says, read from the database and scored once (cheap);
2. `summary_text` (templates.report): the one-message summary, from that data;
3. `write_report`: the .docx file rendered from that data (slow: a file on disk).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from conversations.events import OutgoingFile
from conversations.results import Standing, result_level, standing
from conversations.working import Working
from storage.base import Assessment, Transaction
from templates.report import (
    SECTION_KEYS,
    Narrative,
    Narratives,
    ReportData,
    draft_narratives,
    render_report,
)
from templates.text import t


async def report_data(
    tx: Transaction, work: Working, today: date, known: Standing | None = None
) -> ReportData:
    """Everything the report and its summary say, read from the database and scored once:
    the answers and evidence, part III (drafts for the sections the unit did not write), who
    submitted it and when. `known`: the standing the caller already computed for this turn;
    `today` scores an assessment still in progress (a submitted one keeps its own date).

    Database reads and scoring only: a turn may call it; rendering is `write_report`, a job.
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
    return ReportData(
        unit=unit,
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


def write_report(folder: Path, assessment: Assessment, data: ReportData) -> OutgoingFile:
    """Render the report (.docx) of `data` into `folder`, as the file to send.

    No database and no chat: only the file (the slow part of a submission), so it can run
    apart from the turn that submitted. The name is the same for each rendering of an
    assessment, so the newest replaces the last.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = t("report.file_name", year=assessment.year, unit=data.unit.id, id=assessment.id)
    path = render_report(data, folder / name)
    return OutgoingFile(path, name, t("report.caption", year=assessment.year))
