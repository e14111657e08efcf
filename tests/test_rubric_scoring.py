"""Scoring under Thông tư 22/2020 (points, xếp loại): totals are always computed from the items.

Property tests draw random valid answer sets; the classification tests build answer sets that hit
an exact total, so every band boundary (49/50, 69/70, 84/85, 100) is crossed.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml
from conftest import DATA, TT22
from hypothesis import given, settings
from hypothesis import strategies as st

from rubric.answers import Score, parse_answers
from rubric.cli import main
from rubric.loader import load_framework
from rubric.model import Framework, Kind
from rubric.scoring import PointsResult, evaluate, score_points

FRAMEWORK = load_framework(TT22)
LEAF_MAX = {
    "1a": 10, "1b": 10, "1c": 10,
    "2a": 10, "2b": 5, "2c": 10, "2d": 5,
    "3a1": 3, "3a2": 3, "3a3": 3, "3a4": 3, "3a5": 3, "3a6": 3, "3a7": 3, "3a8": 4,
    "3b": 10, "3c": 5,
}  # fmt: skip
CRITERION_OF = {code: code[0] for code in LEAF_MAX}
SETTINGS = settings(max_examples=60, deadline=None)


def expected_band(total: int) -> str:
    """The bands of Thông tư 22/2020, written independently of the framework file."""
    if total >= 85:
        return "Tốt"
    if total >= 70:
        return "Khá"
    if total >= 50:
        return "Trung bình"
    return "Không đạt"


def fill_to(total: int, order: list[str]) -> dict[str, int]:
    """Scores that add up to exactly `total`, filling the leaves greedily in `order`."""
    scores = {}
    left = total
    for code in order:
        scores[code] = min(LEAF_MAX[code], left)
        left -= scores[code]
    assert left == 0
    return scores


def score(raw: dict[str, object], unit_kind: Kind) -> PointsResult:
    result = evaluate(FRAMEWORK, unit_kind, parse_answers(FRAMEWORK, unit_kind, raw))
    assert isinstance(result, PointsResult)
    return result


def cli_json(*args: str) -> dict[str, object]:
    """`python -m rubric ARGS` run in this process (fast enough for many answer sets)."""
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(list(args))
    assert status == 0
    data = json.loads(out.getvalue())
    assert isinstance(data, dict)
    return data


valid_answers = st.fixed_dictionaries(
    {code: st.integers(min_value=0, max_value=top) for code, top in LEAF_MAX.items()}
)


def test_leaf_maxima_match_the_circular(tt22: Framework) -> None:
    assert tt22.leaf_codes() == list(LEAF_MAX)
    assert sum(LEAF_MAX.values()) == 100


@SETTINGS
@given(raw=valid_answers)
def test_total_is_the_sum_of_criteria_and_of_all_leaves(raw: dict[str, int], co_quan: Kind) -> None:
    result = score(dict(raw), co_quan)
    assert result.complete
    assert result.max_total == 100
    assert result.total == sum(c.score for c in result.criteria) == sum(raw.values())
    for criterion in result.criteria:
        leaves = [v for code, v in raw.items() if CRITERION_OF[code] == criterion.code]
        assert criterion.score == sum(i.score for i in criterion.indicators) == sum(leaves)
        assert criterion.complete
    assert result.classification == expected_band(result.total)


@SETTINGS
@given(raw=valid_answers)
def test_3a_is_the_sum_of_its_eight_items(raw: dict[str, int], co_quan: Kind) -> None:
    result = score(dict(raw), co_quan)
    criterion3 = next(c for c in result.criteria if c.code == "3")
    three_a = next(i for i in criterion3.indicators if i.code == "3a")
    assert [item.code for item in three_a.items] == [f"3a{n}" for n in range(1, 9)]
    assert [item.score for item in three_a.items] == [raw[f"3a{n}"] for n in range(1, 9)]
    assert three_a.score == sum(raw[f"3a{n}"] for n in range(1, 9))
    assert three_a.max == 25
    assert criterion3.score == three_a.score + raw["3b"] + raw["3c"]


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Không đạt"),
        (49, "Không đạt"),
        (50, "Trung bình"),
        (69, "Trung bình"),
        (70, "Khá"),
        (84, "Khá"),
        (85, "Tốt"),
        (100, "Tốt"),
    ],
)
@settings(max_examples=25, deadline=None)
@given(order=st.permutations(list(LEAF_MAX)))
def test_classification_at_every_band_boundary(
    total: int, band: str, order: list[str], co_quan: Kind
) -> None:
    raw = fill_to(total, order)
    result = score(dict(raw), co_quan)
    assert result.total == total
    assert result.classification == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (49, "Không đạt"),
        (50, "Trung bình"),
        (69, "Trung bình"),
        (70, "Khá"),
        (84, "Khá"),
        (85, "Tốt"),
        (100, "Tốt"),
    ],
)
def test_cli_prints_the_band_at_each_boundary(total: int, band: str, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(fill_to(total, list(LEAF_MAX))), encoding="utf-8")
    data = cli_json("score", TT22, str(answers))
    assert data["framework"] == TT22
    assert data["total"] == total
    assert data["max_total"] == 100
    assert data["classification"] == band
    criteria = data["criteria"]
    assert isinstance(criteria, list)
    assert sum(c["score"] for c in criteria) == total
    assert [(c["code"], c["max"]) for c in criteria] == [("1", 30), ("2", 30), ("3", 40)]


def test_partial_answers_give_subtotals_but_no_classification(
    tt22: Framework, co_quan: Kind
) -> None:
    answers = parse_answers(tt22, co_quan, {"1a": 10, "3a1": 3, "3a8": 4}, complete=False)
    result = score_points(tt22, answers)
    assert not result.complete
    assert result.classification is None
    assert result.total == 17
    three_a = result.criteria[2].indicators[0]
    assert three_a.score == 7
    assert not three_a.complete


def test_seed_002_table_scores_93_not_the_stated_98(co_quan: Kind) -> None:
    raw = yaml.safe_load((DATA / "seed002-tt22.yaml").read_text(encoding="utf-8"))
    result = score({str(code): value for code, value in raw.items()}, co_quan)
    subtotals = {c.code: c.score for c in result.criteria}
    assert subtotals == {"1": 30, "2": 30, "3": 33}
    assert result.total == 93
    assert result.classification == "Tốt"
    below = {ind.code: (ind.score, ind.max) for ind in result.below_maximum()}
    assert below == {"3b": (5, 10), "3c": (3, 5)}


def test_a_whole_score_is_kept_as_given(tt22: Framework, co_quan: Kind) -> None:
    answers = parse_answers(tt22, co_quan, fill_to(100, list(LEAF_MAX)))
    assert answers["3a8"] == Score(4)
    assert answers["2b"] == Score(5)
