"""The command line for people and scripts: list frameworks, score an answers file.

`python -m rubric score FRAMEWORK ANSWERS [--unit-kind KIND] [--level N]
[--level1-decision-date YYYY-MM-DD] [--submitted-on YYYY-MM-DD]` prints one JSON object on
stdout; any problem prints one Vietnamese line on stderr, nothing on stdout, and exits with
status 2, so a script can trust that whatever it reads on stdout is a complete, computed result.

For a recognition framework the top-level keys (`recognised`, `indicators`, `unmet`, `level`)
describe mức độ 1 unless `--level` says otherwise, so existing scripts keep their meaning; `levels`,
`highest_level` and `level2_eligible` add every level at once.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from rubric.answers import Answer, AnswerError, Counts, parse_answers, to_plain
from rubric.levels import LevelsResult, judge_levels
from rubric.loader import (
    RubricError,
    UnknownFramework,
    framework_ids,
    kind,
    load_framework,
    load_kinds,
)
from rubric.model import Framework, Kind
from rubric.scoring import PointsResult, RecognitionResult, score_points
from templates.formatting import format_percent
from templates.text import os_reason, t

DEFAULT_KIND = "co-quan"


class CliError(Exception):
    """A problem to report on one line with exit status 2."""


def read_answers_file(path: Path) -> dict[str, object]:
    """A YAML or JSON mapping of leaf code -> answer, keys as strings ("1.1" even if unquoted)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(t("cli.file_unreadable", path=path, detail=os_reason(exc))) from exc
    except UnicodeDecodeError as exc:
        raise CliError(t("cli.file_unreadable", path=path, detail=t("cli.not_utf8"))) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = t("cli.not_yaml", line=line)
        raise CliError(t("cli.file_unreadable", path=path, detail=detail)) from exc
    if not isinstance(data, dict):
        raise CliError(t("cli.file_not_mapping", path=path))
    return {str(code).strip(): value for code, value in data.items()}


def resolve(framework_id: str, kind_id: str) -> tuple[Framework, Kind]:
    try:
        framework = load_framework(framework_id)
    except UnknownFramework as exc:
        known = ", ".join(framework_ids())
        raise CliError(t("cli.unknown_framework", id=framework_id, known=known)) from exc
    try:
        unit_kind = kind(kind_id)
    except KeyError as exc:
        known = ", ".join(k.id for k in load_kinds())
        raise CliError(t("cli.unknown_kind", kind=kind_id, known=known)) from exc
    return framework, unit_kind


def points_json(framework: Framework, result: PointsResult) -> dict[str, Any]:
    return {
        "framework": framework.id,
        "title": framework.title,
        "method": "points",
        "total": result.total,
        "max_total": result.max_total,
        "classification": result.classification,
        "criteria": [
            {
                "code": c.code,
                "title": c.title,
                "score": c.score,
                "max": c.max,
                "indicators": [
                    {
                        "code": i.code,
                        "score": i.score,
                        "max": i.max,
                        **(
                            {
                                "items": [
                                    {"code": x.code, "score": x.score, "max": x.max}
                                    for x in i.items
                                ]
                            }
                            if i.items
                            else {}
                        ),
                    }
                    for i in c.indicators
                ],
            }
            for c in result.criteria
        ],
    }


def level_json(result: RecognitionResult) -> dict[str, Any]:
    """One level's judgement: `recognised`, `criteria`, `indicators`, `unmet`."""
    return {
        "recognised": result.recognised,
        "criteria": [
            {"code": c.code, "title": c.title, "status": str(c.status)} for c in result.criteria
        ],
        "indicators": [
            {
                "code": j.code,
                "status": str(j.status),
                "value": to_plain(j.answer) if j.answer is not None else None,
                # exact (31/32 -> 96.875, never 96.9 beside a "không đạt" it does not explain)
                "percent": (
                    float(j.answer.fraction * 100) if isinstance(j.answer, Counts) else None
                ),
                "fraction": (
                    f"{j.answer.achieved}/{j.answer.total}"
                    if isinstance(j.answer, Counts)
                    else None
                ),
                "percent_text": (
                    format_percent(j.answer.fraction) if isinstance(j.answer, Counts) else None
                ),
                "threshold": float(j.threshold) if j.threshold is not None else None,
            }
            for j in result.judgements
        ],
        "unmet": result.unmet,
    }


def shortfalls_json(result: RecognitionResult) -> list[dict[str, Any]]:
    """What each unmet chỉ tiêu lacks ("cần thêm 2 thành viên … để đạt 95%")."""
    return [
        {"code": gap.code, "people": gap.people, "message": gap.message}
        for gap in result.shortfalls
    ]


def recognition_json(framework: Framework, result: RecognitionResult) -> dict[str, Any]:
    """One level's result as the top-level object (the output before levels were added)."""
    return {
        "framework": framework.id,
        "title": framework.title,
        "method": "recognition",
        "unit_kind": result.unit_kind,
        "unit_level": framework.unit_level,
        "level": result.level,
        **level_json(result),
    }


def levels_json(framework: Framework, result: LevelsResult, level: int) -> dict[str, Any]:
    """`recognition_json` of mức độ `level`, with every level and mức độ 2 eligibility added."""
    return {
        **recognition_json(framework, result.at(level)),
        "levels": {
            str(r.level): {**level_json(r), "shortfalls": shortfalls_json(r)}
            for r in result.results
        },
        "highest_level": result.highest_level,
        "next_level": result.next_level,
        "requested_level": result.requested_level,
        "level2_eligible": result.level2_eligible,
        "level2_note": result.level2_note,
        "level2_from": result.level2_from.isoformat() if result.level2_from else None,
    }


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: str, option: str) -> date:
    """A calendar date written YYYY-MM-DD (only that form: 2025-01-14, not 14/01/2025)."""
    try:
        if _ISO_DATE.match(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise CliError(t("cli.bad_date", value=value, option=option))


def chosen_level(framework: Framework, level: str | None) -> int:
    """The level the top-level keys describe: `--level`, or mức độ 1 when not given."""
    if level is None:
        return 1
    if framework.method == "points":
        raise CliError(t("cli.points_no_level", id=framework.id))
    known = [str(number) for number in framework.levels]
    if level.strip() not in known:
        raise CliError(t("cli.unknown_level", id=framework.id, level=level, known=", ".join(known)))
    return int(level)


def read_answers(framework: Framework, unit_kind: Kind, path: Path) -> dict[str, Answer]:
    try:
        return parse_answers(framework, unit_kind, read_answers_file(path))
    except AnswerError as exc:
        raise CliError(exc.message()) from exc


def score_command(args: argparse.Namespace, today: date) -> dict[str, Any]:
    framework, unit_kind = resolve(args.framework, args.unit_kind)
    level = chosen_level(framework, args.level)
    decided = args.level1_decision_date
    decision = parse_date(decided, "--level1-decision-date") if decided is not None else None
    submitted = args.submitted_on
    submitted_on = parse_date(submitted, "--submitted-on") if submitted is not None else today
    answers = read_answers(framework, unit_kind, Path(args.answers))
    if framework.method == "points":
        return points_json(framework, score_points(framework, answers))
    result = judge_levels(
        framework,
        unit_kind,
        answers,
        submitted_on=submitted_on,
        level1_decision_date=decision,
    )
    return levels_json(framework, result, level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rubric", description="Bộ tiêu chí “Đơn vị học tập”: liệt kê và chấm điểm."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="liệt kê các bộ tiêu chí")
    score = commands.add_parser("score", help="chấm một tệp câu trả lời, in kết quả JSON")
    score.add_argument("framework", help="mã bộ tiêu chí, ví dụ tt22-2020")
    score.add_argument("answers", help="tệp YAML hoặc JSON: mã chỉ tiêu → câu trả lời")
    score.add_argument(
        "--unit-kind", default=DEFAULT_KIND, help=f"loại đơn vị (mặc định {DEFAULT_KIND})"
    )
    score.add_argument(
        "--level",
        metavar="{1,2}",
        help="mức độ mà các khóa recognised, indicators, unmet mô tả (mặc định 1)",
    )
    score.add_argument(
        "--level1-decision-date",
        metavar="YYYY-MM-DD",
        help="ngày quyết định công nhận mức độ 1 của đơn vị (không có: chưa xét mức độ 2)",
    )
    score.add_argument(
        "--submitted-on",
        metavar="YYYY-MM-DD",
        help="ngày nộp hồ sơ đánh giá (mặc định: hôm nay)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")  # Vietnamese output even under LANG=C
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            for framework_id in framework_ids():
                print(f"{framework_id}\t{load_framework(framework_id).title}")
            return 0
        output = score_command(args, date.today())
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except RubricError as exc:
        print(t("cli.rubric_invalid"), str(exc), file=sys.stderr)
        return 2
    json.dump(output, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0
