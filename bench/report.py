"""How long the documents take: the BÁO CÁO (.docx) and the supervising level's workbook (.xlsx).

    python -m bench.report [--renders 50] [--units 10000] [--repeat 3]

The report is rendered from a full TT 22 assessment (every indicator with evidence, the four
parts of section III); the workbook is the whole `/tonghop` path for 10,000 units: rows read
and judged from the database by the rubric engine, then written by XlsxWriter.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench.common import percentile, repository, seed_units
from conversations import background
from conversations.jobs import OVERVIEW, REPORT
from conversations.settings import Settings
from rubric.answers import parse_answers
from rubric.loader import kind, load_framework
from templates.report import Narrative, Narratives, ReportData, ReportUnit, render_report

SCORES: dict[str, object] = {
          "1a": 10, "1b": 9, "1c": 10, "2a": 10, "2b": 5, "2c": 9, "2d": 5, "3a1": 3,
          "3a2": 3, "3a3": 3, "3a4": 2, "3a5": 3, "3a6": 3, "3a7": 3, "3a8": 4, "3b": 8,
          "3c": 4}  # fmt: skip


def report_data() -> ReportData:
    framework = load_framework("tt22-2020")
    unit = ReportUnit(
        name="Phòng Giáo dục và Đào tạo huyện Kon Rẫy", kind="co-quan",
        parent_agency="UBND HUYỆN KON RẪY", supervising_name="UBND huyện Kon Rẫy",
        place_name="Kon Rẫy", doc_symbol="BC-PGDĐT", signer_title="Trưởng phòng",
        signer_name="Nguyễn Văn An", member_count=32,
    )  # fmt: skip
    text = "Kế hoạch số 12/KH-PGDĐT ngày 10/01/2023; triển khai tới toàn thể công chức."
    return ReportData(
        unit=unit,
        framework=framework,
        year=2023,
        answers=parse_answers(framework, kind("co-quan"), SCORES),
        evidence={code: text for code in SCORES},
        narratives=Narratives(*(Narrative(text * 3) for _ in range(4))),
        submitted_by="Nguyễn Văn An",
        submitted_at=datetime.now(UTC),
    )


def bench_docx(folder: Path, renders: int) -> str:
    data = report_data()
    render_report(data, folder / "warm.docx")  # templates loaded once, as in a running bot
    times = []
    for n in range(renders):
        began = time.perf_counter()
        render_report(data, folder / f"r{n}.docx")
        times.append((time.perf_counter() - began) * 1000)
    return (f"report .docx: p50 {statistics.median(times):.0f} ms, "
            f"p99 {percentile(times, 0.99):.0f} ms over {renders} renders")  # fmt: skip


async def bench_xlsx(folder: Path, units: int) -> tuple[str, float]:
    repo = await repository(folder / "overview.sqlite3")
    async with repo.transaction() as tx:
        supervisor = await tx.create_unit("Sở Giáo dục và Đào tạo", "co-quan", "cap-tinh")
    await seed_units(repo, units, supervisor=supervisor.id)
    async with repo.transaction() as tx:  # half the units have answered everything
        for assessment in (await tx.assessments_of_units(list(range(2, units + 2)), 2023)).values():
            if assessment.id % 2:
                for code, score in SCORES.items():
                    await tx.put_answer(assessment.id, code, str(score), 1)
                await tx.set_status(assessment.id, "submitted", 1)
    settings = Settings(reports_dir=folder)
    url = repo.url
    await repo.close()
    payload = {"supervisor_id": supervisor.id, "year": 2023, "today": "2024-02-01",
               "to": [1, "bench", "1"]}  # fmt: skip
    began = time.perf_counter()  # the whole job: its own snapshot, the rows judged, the .xlsx
    result = await asyncio.to_thread(background.run, OVERVIEW, url, payload, settings)
    total = time.perf_counter() - began
    [path, *_] = result["replies"][0]["files"][0]
    size = Path(path).stat().st_size // 1024
    line = f"overview job (.xlsx) for {units:,} units: {total:.2f} s ({size} KB)"
    return line, total


async def bench_report_job(folder: Path, renders: int) -> str:
    """The submission's report as the job renders it: its own snapshot, the data, the .docx."""
    repo = await repository(folder / "report.sqlite3")
    await seed_units(repo, 1)
    async with repo.transaction() as tx:
        [assessment] = (await tx.assessments_of_units([1], 2023)).values()
        for code, score in SCORES.items():
            await tx.put_answer(assessment.id, code, str(score), 1)
            await tx.append_evidence(assessment.id, code, "Kế hoạch số 12/KH-PGDĐT.", 1)
        await tx.record_submission(assessment.id, 1, date(2024, 2, 1), None)
    url = repo.url
    await repo.close()
    settings = Settings(reports_dir=folder)
    payload = {"assessment_id": assessment.id, "to": [1, "bench", "1"]}
    await asyncio.to_thread(background.run, REPORT, url, payload, settings)  # warm
    times = []
    for _ in range(renders):
        began = time.perf_counter()
        await asyncio.to_thread(background.run, REPORT, url, payload, settings)
        times.append((time.perf_counter() - began) * 1000)
    return (f"report job (.docx): p50 {statistics.median(times):.0f} ms, "
            f"p99 {percentile(times, 0.99):.0f} ms over {renders} runs")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="workbooks; the fastest is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        print(bench_docx(Path(folder), args.renders), flush=True)
        print(asyncio.run(bench_report_job(Path(folder), args.renders)), flush=True)
        runs = [asyncio.run(bench_xlsx(Path(folder), args.units)) for _ in range(args.repeat)]
        line, _ = min(runs, key=lambda run: run[1])  # other work on the machine only slows
        spread = ", ".join(f"{seconds:.2f}" for _, seconds in runs)
        print(f"{line}; runs: {spread} s" if len(runs) > 1 else line)


if __name__ == "__main__":
    main()
