"""Load framework files and validate them strictly, saying exactly what is wrong and where.

Structure (types, unknown keys, ranges) is checked by the pydantic models; the rules that span
fields (maxima that add up, duplicate codes, bands, unit kinds) are checked here. Every problem is
reported at once, each with the file and the path inside it, so a clerk editing a province's
variant can fix the file in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rubric.model import (
    NOT_NULL_AT_LEVEL,
    AnswerKind,
    Framework,
    Indicator,
    Kind,
    KindCatalogue,
    LevelChange,
)
from templates.formatting import format_number
from templates.text import has, t

_FRAMEWORKS = files("rubric").joinpath("frameworks")


class RubricError(Exception):
    """A framework file that cannot be used; `problems` lists every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


class UnknownFramework(KeyError):
    """No framework file has this id."""


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RubricError(source, [t("rubric.yaml_syntax", detail=str(exc))]) from exc


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """A readable path ("criteria[2].indicators[0] (3a).max") for a pydantic error location."""
    parts: list[str] = []
    node = data
    for step in loc:
        if step == "[key]":  # pydantic's marker for a mapping's key: the key itself is named
            continue
        if isinstance(step, int):
            parts[-1] = f"{parts[-1]}[{step}]" if parts else f"[{step}]"
        else:
            parts.append(str(step))
        node = _child(node, step)
        if isinstance(node, dict) and isinstance(step, int) and "code" in node:
            parts[-1] += f" ({node['code']})"
    return ".".join(parts) or "(tệp)"


def _child(node: Any, step: int | str) -> Any:
    """The element `step` of a list or mapping, or None when there is none."""
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    if isinstance(node, dict):
        return node.get(step)
    return None


def _pydantic_problems(error: ValidationError, data: Any) -> list[str]:
    problems = []
    for item in error.errors():
        where = _where(tuple(item["loc"]), data)
        key = f"rubric.pydantic.{item['type']}"
        context = item.get("ctx") or {}
        message = t(key, **context) if has(key) else item["msg"]
        problems.append(f"{where}: {message}")
    return problems


_WRITTEN_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")


def _indicator_problems(fw: Framework, label: str, ind: Indicator) -> Iterator[str]:
    if fw.method == "points":
        if ind.answer is not AnswerKind.SCORE:
            yield t("rubric.points_needs_score", where=label)
        if ind.max is None:
            yield t("rubric.missing_max", where=label)
        elif ind.items and sum(item.max for item in ind.items) != ind.max:
            total = sum(item.max for item in ind.items)
            yield t("rubric.items_sum", where=label, total=total, max=ind.max)
    else:
        if ind.answer is AnswerKind.SCORE or ind.max is not None or ind.items:
            yield t("rubric.recognition_no_points", where=label)
        if ind.answer is AnswerKind.COUNTS:
            yield from _counts_problems(label, ind)
    thresholds = [ind.threshold, *(variant.threshold for variant in ind.variants)]
    if ind.answer is not AnswerKind.COUNTS and any(x is not None for x in thresholds):
        yield t("rubric.threshold_not_counts", where=label)
    if ind.items and ind.answer is not AnswerKind.SCORE:
        yield t("rubric.items_need_score", where=label)


def _counts_problems(label: str, ind: Indicator) -> Iterator[str]:
    """A counts chỉ tiêu, as every kind of unit reads it: a threshold its wording agrees with,
    and the words for the gap in people ("cần thêm 2 thành viên đạt …")."""
    readings = [ind, *(ind.model_copy(update=variant.update()) for variant in ind.variants)]
    problems: list[str] = []
    for reading in readings:
        if reading.threshold is None:
            problems.append(t("rubric.missing_threshold", where=label))
            continue
        if reading.achieving is None:
            problems.append(t("rubric.missing_achieving", where=label))
        written = _WRITTEN_PERCENT.search(reading.text)
        if written and Decimal(written.group(1).replace(",", ".")) != reading.threshold:
            problems.append(
                t(
                    "rubric.text_threshold_mismatch",
                    where=label,
                    written=written.group(1),
                    threshold=format_number(reading.threshold),
                )
            )
    yield from dict.fromkeys(problems)


def _points_problems(fw: Framework) -> Iterator[str]:
    if fw.levels or any(ind.levels for ind in fw.indicators):
        yield t("rubric.points_no_levels")
    if fw.max_total is None:
        yield t("rubric.missing_max_total")
    if not fw.classification:
        yield t("rubric.missing_classification")
    for i, criterion in enumerate(fw.criteria):
        where = f"criteria[{i}] ({criterion.code})"
        if criterion.max is None:
            yield t("rubric.missing_max", where=where)
            continue
        total = sum(ind.max or 0 for ind in criterion.indicators)
        if total != criterion.max:
            yield t("rubric.criterion_sum", where=where, total=total, max=criterion.max)
    total = sum(criterion.max or 0 for criterion in fw.criteria)
    if fw.max_total is not None and total != fw.max_total:
        yield t("rubric.total_sum", total=total, max=fw.max_total)
    mins = [band.min for band in fw.classification]
    if mins and (mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins)):
        yield t("rubric.bands_order")
    if mins and mins[-1] != 0:
        yield t("rubric.bands_floor")
    if fw.max_total is not None and any(m > fw.max_total for m in mins):
        yield t("rubric.bands_above_max", max=fw.max_total)


def _recognition_problems(fw: Framework) -> Iterator[str]:
    if fw.max_total is not None or fw.classification:
        yield t("rubric.recognition_no_points", where="(tệp)")
    if not fw.levels:
        yield t("rubric.missing_level")
    elif fw.levels != list(range(1, len(fw.levels) + 1)):
        yield t("rubric.levels_order", levels=", ".join(map(str, fw.levels)))
    for i, criterion in enumerate(fw.criteria):
        if criterion.max is not None:
            yield t("rubric.recognition_no_points", where=f"criteria[{i}] ({criterion.code})")
        for j, ind in enumerate(criterion.indicators):
            yield from _level_change_problems(fw, f"criteria[{i}].indicators[{j}]", ind)


def _null_keys(change: LevelChange) -> list[str]:
    """The keys a level change writes as null though they cannot be empty."""
    return [
        k for k in NOT_NULL_AT_LEVEL if k in change.model_fields_set and getattr(change, k) is None
    ]


def _level_change_problems(fw: Framework, where: str, ind: Indicator) -> Iterator[str]:
    where = f"{where} ({ind.code}).levels"
    for number, change in ind.levels.items():
        if number == 1:
            yield t("rubric.level_change_base", where=where)
        elif number not in fw.levels:
            yield t("rubric.level_change_unknown", where=where, level=number)
        for key in _null_keys(change):
            yield t("rubric.level_change_null", where=f"{where}[{number}].{key}")


def _kind_names(ind: Indicator) -> set[str]:
    """Every unit kind or group an indicator names, at every level."""
    names: set[str] = set()
    for reading in [ind, *(ind.at_level(number) for number in ind.levels)]:
        lists = [reading.applies_to or [], reading.optional_for, reading.not_for]
        lists += [variant.kinds for variant in reading.variants]
        names.update(name for names in lists for name in names)
    return names


def _kind_problems(fw: Framework, kinds: list[Kind]) -> Iterator[str]:
    known = {kind.id for kind in kinds} | {group for kind in kinds for group in kind.groups}
    for i, criterion in enumerate(fw.criteria):
        for j, ind in enumerate(criterion.indicators):
            for name in sorted(_kind_names(ind) - known):
                where = f"criteria[{i}].indicators[{j}] ({ind.code})"
                yield t("rubric.unknown_kind", where=where, kind=name)


def _duplicate_problems(fw: Framework) -> Iterator[str]:
    seen: set[str] = set()
    for criterion in fw.criteria:
        codes = [criterion.code]
        for ind in criterion.indicators:
            codes += [ind.code, *(item.code for item in ind.items)]
        for code in codes:
            if code in seen:
                yield t("rubric.duplicate_code", code=code)
            seen.add(code)


def _levels_problems(fw: Framework, where: str, ind: Indicator) -> list[str]:
    """The indicator's problems at each level of the file, each said once.

    A problem the lowest level already has is not repeated for a level that inherits it; one a
    level's own change brings is labelled with that level ("… (2.4) mức độ 2: …").
    """
    base = f"{where} ({ind.code})"
    problems = list(_indicator_problems(fw, base, ind))
    for number in fw.levels[1:]:
        changes = [change for changed, change in ind.levels.items() if 1 < changed <= number]
        if not changes or any(_null_keys(change) for change in changes):
            continue  # nothing changes, or a null already reported makes the reading unusable
        reading = ind.at_level(number)
        labelled = _indicator_problems(fw, f"{base} mức độ {number}", reading)
        for plain, problem in zip(_indicator_problems(fw, base, reading), labelled, strict=True):
            if plain not in problems:
                problems.append(problem)
    return problems


def _due_problems(fw: Framework) -> Iterator[str]:
    due = fw.report.due
    if not due.exists():
        yield t("rubric.due_no_such_day", day=due.day, month=due.month)
    written = {f"{due.day}/{due.month}", f"{due.day:02d}/{due.month:02d}"}
    if not any(form in fw.report.deadline for form in written):
        yield t("rubric.due_text_mismatch", day=due.day, month=due.month)


def semantic_problems(fw: Framework, kinds: list[Kind]) -> list[str]:
    """Every rule of a framework that spans fields, as readable problems (empty when sound)."""
    problems = list(_duplicate_problems(fw))
    problems += _points_problems(fw) if fw.method == "points" else _recognition_problems(fw)
    problems += _due_problems(fw)
    for i, criterion in enumerate(fw.criteria):
        for j, ind in enumerate(criterion.indicators):
            problems += _levels_problems(fw, f"criteria[{i}].indicators[{j}]", ind)
    problems += _kind_problems(fw, kinds)
    return problems


def parse_framework(text: str, source: str, kinds: list[Kind] | None = None) -> Framework:
    """Validate the YAML `text` of a framework file; raise RubricError listing every problem."""
    data = _read_yaml(text, source)
    if not isinstance(data, dict):
        raise RubricError(source, [t("rubric.not_mapping")])
    try:
        framework = Framework.model_validate(data)
    except ValidationError as exc:
        raise RubricError(source, _pydantic_problems(exc, data)) from exc
    problems = semantic_problems(framework, kinds if kinds is not None else load_kinds())
    if problems:
        raise RubricError(source, problems)
    return framework


def load_framework_file(path: Path) -> Framework:
    """Load and validate a framework from any path (a province's own variant, say)."""
    return parse_framework(path.read_text(encoding="utf-8"), str(path))


@cache
def load_kinds() -> list[Kind]:
    """The unit kinds every framework refers to (rubric/kinds.yaml)."""
    source = "rubric/kinds.yaml"
    data = _read_yaml(files("rubric").joinpath("kinds.yaml").read_text(encoding="utf-8"), source)
    try:
        return KindCatalogue.model_validate(data).kinds
    except ValidationError as exc:
        raise RubricError(source, _pydantic_problems(exc, data)) from exc


def kind(kind_id: str) -> Kind:
    """The unit kind `kind_id`; KeyError when there is none."""
    for candidate in load_kinds():
        if candidate.id == kind_id:
            return candidate
    raise KeyError(kind_id)


@cache
def load_framework(framework_id: str) -> Framework:
    """The bundled framework `framework_id` (a file rubric/frameworks/<id>.yaml)."""
    resource = _FRAMEWORKS.joinpath(f"{framework_id}.yaml")
    if "/" in framework_id or not resource.is_file():
        raise UnknownFramework(framework_id)
    framework = parse_framework(
        resource.read_text(encoding="utf-8"), f"rubric/frameworks/{framework_id}.yaml"
    )
    if framework.id != framework_id:
        raise RubricError(framework_id, [t("rubric.id_mismatch", id=framework.id)])
    return framework


def framework_ids() -> list[str]:
    """The ids of the bundled frameworks, sorted."""
    names = (entry.name for entry in _FRAMEWORKS.iterdir() if entry.name.endswith(".yaml"))
    return sorted(name.removesuffix(".yaml") for name in names)


def all_frameworks() -> list[Framework]:
    return [load_framework(framework_id) for framework_id in framework_ids()]
