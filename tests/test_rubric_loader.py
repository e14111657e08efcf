"""The framework files and the strict loader: every mistake is reported with where and what.

Each test takes the real YAML text of a bundled framework, changes one thing, and checks that
`parse_framework` refuses it with a problem naming the place (code or path) and the figures.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from importlib.resources import files
from typing import Any

import pytest
import yaml
from conftest import TT22, TT24, TT24_TINH

from rubric.loader import (
    RubricError,
    UnknownFramework,
    framework_ids,
    load_framework,
    parse_framework,
)
from rubric.model import AnswerKind, Framework

TT22_LEAVES = [
    "1a", "1b", "1c", "2a", "2b", "2c", "2d",
    "3a1", "3a2", "3a3", "3a4", "3a5", "3a6", "3a7", "3a8", "3b", "3c",
]  # fmt: skip
TT24_LEAVES = [f"{c}.{i}" for c in (1, 2, 3) for i in range(1, 6)]


def source_text(framework_id: str) -> str:
    return files("rubric").joinpath(f"frameworks/{framework_id}.yaml").read_text(encoding="utf-8")


def source_data(framework_id: str) -> dict[str, Any]:
    data = yaml.safe_load(source_text(framework_id))
    assert isinstance(data, dict)
    return data


def problems_after(framework_id: str, change: Callable[[dict[str, Any]], object]) -> list[str]:
    """The problems the loader reports for the real file with `change` applied."""
    data = copy.deepcopy(source_data(framework_id))
    change(data)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(RubricError) as caught:
        parse_framework(text, "edited.yaml")
    assert caught.value.source == "edited.yaml"
    assert "edited.yaml" in str(caught.value)
    assert caught.value.problems
    return caught.value.problems


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def indicator(data: dict[str, Any], criterion: int, index: int) -> dict[str, Any]:
    found = data["criteria"][criterion]["indicators"][index]
    assert isinstance(found, dict)
    return found


# --- the bundled frameworks ---------------------------------------------------------------------


def test_every_framework_is_bundled() -> None:
    assert framework_ids() == [TT22, TT24, TT24_TINH]


@pytest.mark.parametrize("framework_id", [TT22, TT24, TT24_TINH])
def test_bundled_files_load_without_a_problem(framework_id: str) -> None:
    parsed = parse_framework(source_text(framework_id), f"{framework_id}.yaml")
    assert parsed.id == framework_id
    assert load_framework(framework_id) == parsed


def test_tt22_has_the_leaf_codes_and_maxima_of_the_circular(tt22: Framework) -> None:
    assert tt22.method == "points"
    assert tt22.leaf_codes() == TT22_LEAVES
    assert [ind.code for ind in tt22.indicators] == [
        "1a", "1b", "1c", "2a", "2b", "2c", "2d", "3a", "3b", "3c",
    ]  # fmt: skip
    assert tt22.max_total == 100
    assert [(c.code, c.max) for c in tt22.criteria] == [("1", 30), ("2", 30), ("3", 40)]
    for criterion in tt22.criteria:
        assert sum(ind.max or 0 for ind in criterion.indicators) == criterion.max
    three_a = tt22.indicator("3a")
    assert three_a.max == 25
    assert [item.max for item in three_a.items] == [3, 3, 3, 3, 3, 3, 3, 4]
    leaf_maxima = [item.max for ind in tt22.indicators for item in ind.items] + [
        ind.max or 0 for ind in tt22.indicators if not ind.items
    ]
    assert sum(leaf_maxima) == 100
    assert [(band.label, band.min) for band in tt22.classification] == [
        ("Tốt", 85),
        ("Khá", 70),
        ("Trung bình", 50),
        ("Không đạt", 0),
    ]


def test_tt24_has_the_chi_tieu_and_thresholds_of_the_circular(tt24: Framework) -> None:
    assert tt24.method == "recognition"
    assert (tt24.unit_level, tt24.levels) == ("cap-huyen", [1, 2])
    assert tt24.leaf_codes() == TT24_LEAVES
    assert tt24.max_total is None
    assert tt24.classification == []
    thresholds = {ind.code: ind.threshold for ind in tt24.indicators if ind.threshold is not None}
    assert thresholds == {
        "2.1": Decimal(90),
        "2.2": Decimal(90),
        "2.3": Decimal(90),
        "2.4": Decimal(50),
        "2.5": Decimal(90),
        "3.1": Decimal(90),
    }
    at_2 = {ind.code: ind.at_level(2).threshold for ind in tt24.indicators if ind.threshold}
    assert at_2 == {
        "2.1": Decimal(95),
        "2.2": Decimal(95),
        "2.3": Decimal(95),
        "2.4": Decimal(70),
        "2.5": Decimal(95),
        "3.1": Decimal(95),
    }
    for ind in tt24.indicators:
        expected = AnswerKind.COUNTS if ind.code in thresholds else AnswerKind.YES_NO
        assert ind.answer is expected, ind.code


# --- validation errors --------------------------------------------------------------------------


def test_an_unknown_key_is_named_with_its_path() -> None:
    problem = only(problems_after(TT22, lambda d: indicator(d, 0, 1).update(maxx=10)))
    assert "criteria[0]" in problem
    assert "indicators[1]" in problem
    assert "1b" in problem
    assert "maxx" in problem
    assert "khóa không được phép" in problem


def test_an_unknown_top_level_key_is_named() -> None:
    problem = only(problems_after(TT24, lambda d: d.update(nguong=90)))
    assert problem.startswith("nguong")
    assert "khóa không được phép" in problem


def test_an_indicator_max_that_breaks_its_criterion_names_both_numbers() -> None:
    problem = only(problems_after(TT22, lambda d: indicator(d, 1, 1).update(max=6)))  # 2b: 5 -> 6
    assert "(2)" in problem  # criterion 2
    assert "31" in problem  # what the indicators add up to
    assert "30" in problem  # the criterion's maximum
    assert "khác" in problem


def test_items_of_3a_that_do_not_add_up_to_25() -> None:
    def change(data: dict[str, Any]) -> None:
        indicator(data, 2, 0)["items"][7]["max"] = 5  # 3a8: 4 -> 5

    problem = only(problems_after(TT22, change))
    assert "3a" in problem
    assert "26" in problem
    assert "25" in problem


@pytest.mark.parametrize("value", [120, -5])
def test_a_threshold_outside_0_to_100(value: int) -> None:
    problem = only(problems_after(TT24, lambda d: indicator(d, 1, 0).update(threshold=value)))
    assert "2.1" in problem
    assert "threshold" in problem
    assert ("100" if value > 100 else "0") in problem


def test_a_variant_threshold_outside_0_to_100() -> None:
    def change(data: dict[str, Any]) -> None:
        indicator(data, 2, 0)["variants"][0]["threshold"] = 120

    problem = only(problems_after(TT24, change))
    assert "3.1" in problem
    assert "variants[0].threshold" in problem
    assert "100" in problem


@pytest.mark.parametrize(
    ("framework_id", "criterion", "index", "code"),
    [(TT22, 0, 1, "1a"), (TT24, 2, 4, "3.4")],
)
def test_a_duplicate_code_is_named(
    framework_id: str, criterion: int, index: int, code: str
) -> None:
    problems = problems_after(
        framework_id, lambda d: indicator(d, criterion, index).update(code=code)
    )
    problem = only(problems)
    assert code in problem
    assert "trùng" in problem


def test_a_duplicate_item_code_is_named() -> None:
    def change(data: dict[str, Any]) -> None:
        indicator(data, 2, 0)["items"][2]["code"] = "3a2"

    problem = only(problems_after(TT22, change))
    assert "3a2" in problem
    assert "trùng" in problem


def test_an_unknown_unit_kind_in_applies_to() -> None:
    change = lambda d: indicator(d, 2, 3).update(applies_to=["truong-thpt"])  # noqa: E731
    problem = only(problems_after(TT24, change))
    assert "3.4" in problem
    assert "truong-thpt" in problem
    assert "kinds.yaml" in problem


def swap_first_two_bands(data: dict[str, Any]) -> None:
    bands = data["classification"]
    bands[0], bands[1] = bands[1], bands[0]  # Khá 70 before Tốt 85


def test_classification_bands_out_of_order() -> None:
    problem = only(problems_after(TT22, swap_first_two_bands))
    assert "xếp loại" in problem
    assert "giảm dần" in problem


def test_classification_bands_out_of_order_names_where() -> None:
    problem = only(problems_after(TT22, swap_first_two_bands))
    # where: the key in the file, as the loader promises ("each with ... the path inside it")
    assert "classification" in problem


def test_classification_bands_that_do_not_start_at_zero() -> None:
    def change(data: dict[str, Any]) -> None:
        data["classification"][-1]["min"] = 10

    problem = only(problems_after(TT22, change))
    assert "0" in problem
    assert "xếp loại" in problem


def test_every_problem_is_reported_at_once() -> None:
    def change(data: dict[str, Any]) -> None:
        indicator(data, 0, 0)["max"] = 9  # criterion 1 adds up to 29
        indicator(data, 2, 2)["code"] = "3b"  # 3c -> 3b: duplicate

    problems = problems_after(TT22, change)
    assert len(problems) == 2, problems
    assert any("29" in p and "(1)" in p for p in problems)
    assert any("3b" in p and "trùng" in p for p in problems)


def test_an_unknown_framework_id() -> None:
    with pytest.raises(UnknownFramework):
        load_framework("tt99-2030")
    with pytest.raises(UnknownFramework):
        load_framework("../kinds")


# --- levels (mức độ 1 and 2 in one file) ----------------------------------------------------------


def level_2(data: dict[str, Any], criterion: int, index: int) -> dict[str, Any]:
    found = indicator(data, criterion, index)["levels"][2]
    assert isinstance(found, dict)
    return found


def test_a_level_2_threshold_outside_0_to_100_names_the_level() -> None:
    problem = only(problems_after(TT24, lambda d: level_2(d, 1, 4).update(threshold=120)))
    assert "2.5" in problem
    assert "levels[2].threshold" in problem
    assert "100" in problem


def test_a_level_2_threshold_its_wording_contradicts() -> None:
    problem = only(problems_after(TT24, lambda d: level_2(d, 1, 4).update(threshold=96)))
    assert "(2.5) mức độ 2" in problem
    assert "95%" in problem  # what the text says
    assert "96%" in problem  # what the threshold says


def test_a_level_1_threshold_its_wording_contradicts() -> None:
    problem = only(problems_after(TT24, lambda d: indicator(d, 1, 3).update(threshold=60)))
    assert "(2.4)" in problem
    assert "mức độ" not in problem
    assert "50%" in problem and "60%" in problem


def test_a_variant_at_level_2_is_checked_too() -> None:
    def change(data: dict[str, Any]) -> None:
        level_2(data, 2, 0)["variants"][0]["threshold"] = 98  # text says 97%

    problem = only(problems_after(TT24, change))
    assert "(3.1) mức độ 2" in problem
    assert "97%" in problem and "98%" in problem


def test_a_counts_chi_tieu_without_the_words_for_its_gap() -> None:
    problem = only(problems_after(TT24, lambda d: indicator(d, 1, 4).pop("achieving")))
    assert "(2.5)" in problem
    assert "achieving" in problem


def test_a_problem_both_levels_share_is_said_once() -> None:
    problem = only(problems_after(TT24, lambda d: indicator(d, 2, 0).pop("achieving")))
    assert "(3.1)" in problem


def test_a_threshold_on_a_yes_no_chi_tieu_at_level_2() -> None:
    problem = only(problems_after(TT24, lambda d: level_2(d, 2, 3).update(threshold=90)))
    assert "(3.4) mức độ 2" in problem
    assert "answer: counts" in problem


def test_an_unknown_key_in_a_level_change() -> None:
    problem = only(problems_after(TT24, lambda d: level_2(d, 1, 3).update(answer="yes_no")))
    assert "levels[2].answer" in problem
    assert "khóa không được phép" in problem


def test_a_level_change_may_not_empty_the_wording() -> None:
    problem = only(problems_after(TT24, lambda d: level_2(d, 1, 3).update(text=None)))
    assert "(2.4).levels[2].text" in problem
    assert "null" in problem


def test_a_level_change_may_widen_the_scope_to_every_kind() -> None:
    data = copy.deepcopy(source_data(TT24))
    level_2(data, 2, 2)["applies_to"] = None  # 3.3 at mức độ 2: every unit again
    level_2(data, 2, 2)["optional_for"] = None
    parsed = parse_framework(yaml.safe_dump(data, allow_unicode=True), "edited.yaml")
    at_2 = parsed.indicator("3.3").at_level(2)
    assert (at_2.applies_to, at_2.optional_for) == (None, [])


def test_a_level_change_for_level_1_is_refused() -> None:
    def change(data: dict[str, Any]) -> None:
        indicator(data, 1, 0)["levels"][1] = {"threshold": 85}

    problem = only(problems_after(TT24, change))
    assert "(2.1).levels" in problem
    assert "mức độ 1" in problem


def test_a_level_change_for_a_level_the_file_lacks() -> None:
    problems = problems_after(TT24, lambda d: d.update(levels=[1]))
    assert problems
    assert all("mức độ 2 không có trong levels" in p for p in problems)
    assert any("(2.4).levels" in p for p in problems)


def test_a_level_above_2_is_refused() -> None:
    def change(data: dict[str, Any]) -> None:
        indicator(data, 1, 0)["levels"][3] = {"threshold": 99}

    problem = only(problems_after(TT24, change))
    assert "levels[3]" in problem
    assert "không quá 2" in problem


@pytest.mark.parametrize("levels", [[2], [1, 1], [2, 1]])
def test_levels_must_count_up_from_1(levels: list[int]) -> None:
    problems = problems_after(TT24, lambda d: d.update(levels=levels))
    assert any(p.startswith("levels:") and "tăng dần từ 1" in p for p in problems), problems


def test_a_recognition_file_without_levels() -> None:
    problems = problems_after(TT24, lambda d: d.pop("levels"))
    assert any("levels" in p and "thiếu" in p for p in problems), problems


def test_the_old_single_level_key_is_refused() -> None:
    def change(data: dict[str, Any]) -> None:
        data["level"] = 1

    problem = only(problems_after(TT24, change))
    assert problem.startswith("level:")
    assert "khóa không được phép" in problem


def test_a_points_framework_has_no_levels() -> None:
    problem = only(problems_after(TT22, lambda d: d.update(levels=[1])))
    assert "chấm điểm" in problem
    assert "levels" in problem


def test_an_unknown_unit_kind_in_a_level_change() -> None:
    change = lambda d: level_2(d, 2, 2).update(applies_to=["co-quan", "uy-ban"])  # noqa: E731
    problem = only(problems_after(TT24, change))
    assert "3.3" in problem
    assert "uy-ban" in problem


# --- the filing deadline -------------------------------------------------------------------------


def test_a_due_day_that_some_years_lack() -> None:
    def change(data: dict[str, Any]) -> None:
        data["report"]["due"]["month"] = 2
        data["report"]["due"]["day"] = 29
        data["report"]["deadline"] = "trước ngày 29/02 năm sau"

    problem = only(problems_after(TT24, change))
    assert "report.due" in problem
    assert "29/2" in problem


def test_a_due_date_the_deadline_text_does_not_say() -> None:
    problem = only(problems_after(TT24, lambda d: d["report"]["due"].update(day=16)))
    assert "report.deadline" in problem
    assert "16/1" in problem


def test_a_file_without_a_machine_readable_deadline() -> None:
    problem = only(problems_after(TT22, lambda d: d["report"].pop("due")))
    assert "report.due" in problem
    assert "thiếu" in problem
