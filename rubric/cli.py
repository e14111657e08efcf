"""The command line for people and scripts: list frameworks, score an answers file.

`python -m rubric score FRAMEWORK ANSWERS [--unit-kind KIND]` prints one JSON object on stdout;
any problem prints one Vietnamese line on stderr, nothing on stdout, and exits with status 2, so a
script can trust that whatever it reads on stdout is a complete, computed result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from rubric.answers import AnswerError, Counts, parse_answers, to_plain
from rubric.loader import (
    RubricError,
    UnknownFramework,
    framework_ids,
    kind,
    load_framework,
    load_kinds,
)
from rubric.model import Framework, Kind
from rubric.scoring import PointsResult, RecognitionResult, evaluate
from templates.formatting import format_percent
from templates.text import t

DEFAULT_KIND = "co-quan"


class CliError(Exception):
    """A problem to report on one line with exit status 2."""


def read_answers_file(path: Path) -> dict[str, object]:
    """A YAML or JSON mapping of leaf code -> answer, keys as strings ("1.1" even if unquoted)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
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


def recognition_json(framework: Framework, result: RecognitionResult) -> dict[str, Any]:
    return {
        "framework": framework.id,
        "title": framework.title,
        "method": "recognition",
        "unit_kind": result.unit_kind,
        "unit_level": framework.unit_level,
        "level": result.level,
        "recognised": result.recognised,
        "criteria": [
            {"code": c.code, "title": c.title, "status": str(c.status)} for c in result.criteria
        ],
        "indicators": [
            {
                "code": j.code,
                "status": str(j.status),
                "value": to_plain(j.answer) if j.answer is not None else None,
                "percent": float(j.percent) if j.percent is not None else None,
                "percent_text": (
                    format_percent(j.answer.fraction) if isinstance(j.answer, Counts) else None
                ),
                "threshold": float(j.threshold) if j.threshold is not None else None,
            }
            for j in result.judgements
        ],
        "unmet": result.unmet,
    }


def score_command(args: argparse.Namespace) -> dict[str, Any]:
    framework, unit_kind = resolve(args.framework, args.unit_kind)
    raw = read_answers_file(Path(args.answers))
    try:
        answers = parse_answers(framework, unit_kind, raw)
    except AnswerError as exc:
        raise CliError(exc.message()) from exc
    result = evaluate(framework, unit_kind, answers)
    if isinstance(result, PointsResult):
        return points_json(framework, result)
    return recognition_json(framework, result)


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
        output = score_command(args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except RubricError as exc:
        print(t("cli.rubric_invalid"), str(exc), file=sys.stderr)
        return 2
    json.dump(output, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0
