"""`python -m rubric list|score` as a person or a script runs it (a real subprocess).

A good answers file prints one JSON object; any problem exits with status 2, prints exactly one
Vietnamese line on stderr naming the code and the problem, and nothing at all on stdout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DATA, TT22, TT24, TT24_TINH, CliRun

from rubric.loader import load_framework

Cli = Callable[..., CliRun]

TT22_FULL: dict[str, object] = {
    "1a": 10, "1b": 10, "1c": 10, "2a": 10, "2b": 5, "2c": 10, "2d": 5,
    "3a1": 3, "3a2": 3, "3a3": 3, "3a4": 3, "3a5": 3, "3a6": 3, "3a7": 3, "3a8": 4,
    "3b": 10, "3c": 5,
}  # fmt: skip
TT24_MET: dict[str, object] = {
    "1.1": "có", "1.2": True, "1.3": "đạt", "1.4": "có", "1.5": True,
    "2.1": "32/32", "2.2": "32/32", "2.3": "32/32", "2.4": "32/32", "2.5": "32/32",
    "3.1": "32/32", "3.2": "có", "3.3": "có", "3.4": "na", "3.5": "na",
}  # fmt: skip


def is_vietnamese(line: str) -> bool:
    """True when `line` has letters only Vietnamese uses (ă â đ ê ô ơ ư or a tone mark)."""
    return any(ch in "ăâđêôơưĂÂĐÊÔƠƯ" or "\u1ea0" <= ch <= "\u1ef9" for ch in line)


def write(tmp_path: Path, answers: dict[str, object], name: str = "answers.json") -> str:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    return str(path)


def ok_json(run: CliRun) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    data = json.loads(run.stdout)
    assert isinstance(data, dict)
    return data


def assert_refused(run: CliRun, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one Vietnamese line on stderr containing every fragment."""
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    lines = run.stderr_lines
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert is_vietnamese(line), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def indicators_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["code"]: entry for entry in data["indicators"]}


# --- list ---------------------------------------------------------------------------------------


def test_list_prints_every_framework_with_its_title(rubric_cli: Cli) -> None:
    run = rubric_cli("list")
    assert run.returncode == 0
    assert run.stderr == ""
    rows = [line.split("\t", 1) for line in run.stdout.splitlines() if line.strip()]
    listed = {row[0].strip(): row[1].strip() for row in rows}
    assert set(listed) == {TT22, TT24, TT24_TINH}
    for framework_id, title in listed.items():
        assert title == load_framework(framework_id).title
    assert "Thông tư 22/2020/TT-BGDĐT" in listed[TT22]
    assert "Thông tư 24/2023/TT-BGDĐT" in listed[TT24]
    assert "cấp huyện" in listed[TT24]
    assert "cấp tỉnh" in listed[TT24_TINH]


# --- score: points ------------------------------------------------------------------------------


def test_seed_002_table_gives_93_and_criterion_3_is_33(rubric_cli: Cli) -> None:
    data = ok_json(rubric_cli("score", TT22, str(DATA / "seed002-tt22.yaml")))
    assert data["framework"] == TT22
    assert data["total"] == 93  # the report says 98
    assert data["max_total"] == 100
    assert data["classification"] == "Tốt"
    criteria = {c["code"]: c for c in data["criteria"]}
    assert {code: c["score"] for code, c in criteria.items()} == {"1": 30, "2": 30, "3": 33}
    assert {code: c["max"] for code, c in criteria.items()} == {"1": 30, "2": 30, "3": 40}
    three = {i["code"]: i for i in criteria["3"]["indicators"]}
    assert three["3a"]["score"] == 25
    assert sum(item["score"] for item in three["3a"]["items"]) == 25
    assert (three["3b"]["score"], three["3c"]["score"]) == (5, 3)


def test_full_marks_from_a_yaml_file(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(rubric_cli("score", TT22, write(tmp_path, TT22_FULL, "full.yaml")))
    assert (data["total"], data["classification"]) == (100, "Tốt")


# --- score: recognition -------------------------------------------------------------------------


def test_31_of_32_is_dat_with_96_9_percent(rubric_cli: Cli, tmp_path: Path) -> None:
    answers = {**TT24_MET, "2.1": "31/32", "2.2": "31 32", "3.1": " 31 / 32 "}
    data = ok_json(rubric_cli("score", TT24, write(tmp_path, answers)))
    assert data["framework"] == TT24
    assert data["recognised"] is True
    assert data["level"] == 1
    assert data["unmet"] == []
    found = indicators_of(data)
    for code in ("2.1", "2.2", "3.1"):
        assert found[code]["status"] == "đạt"
        assert found[code]["value"] == "31/32"
        assert found[code]["percent"] == 96.875  # exact, for programs
        assert found[code]["fraction"] == "31/32"
        assert found[code]["percent_text"] == "96,9%"  # rounded, for people
    assert [found[code]["status"] for code in ("3.4", "3.5")] == ["không áp dụng"] * 2


def test_28_of_32_is_not_recognised_and_listed_unmet(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(rubric_cli("score", TT24, write(tmp_path, {**TT24_MET, "2.5": "28/32"})))
    assert data["recognised"] is False
    assert data["unmet"] == ["2.5"]
    entry = indicators_of(data)["2.5"]
    assert entry["status"] == "không đạt"
    assert entry["percent"] == 87.5
    assert entry["percent_text"] == "87,5%"


def test_16_of_32_meets_the_50_percent_of_2_4(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(rubric_cli("score", TT24, write(tmp_path, {**TT24_MET, "2.4": "16/32"})))
    entry = indicators_of(data)["2.4"]
    assert entry["status"] == "đạt"
    assert data["recognised"] is True
    assert entry["percent"] == 50.0


def test_a_whole_percentage_is_shown_without_a_trailing_zero(
    rubric_cli: Cli, tmp_path: Path
) -> None:
    data = ok_json(rubric_cli("score", TT24, write(tmp_path, {**TT24_MET, "2.4": "16/32"})))
    # real reports write "50%" and "100%"; one decimal only where it is not zero (issue 20)
    assert indicators_of(data)["2.4"]["percent_text"] == "50%"
    assert indicators_of(data)["2.1"]["percent_text"] == "100%"


def test_the_percent_is_exact_where_rounding_would_mislead(rubric_cli: Cli, tmp_path: Path) -> None:
    answers = {**TT24_MET, "2.5": "8996/10000"}
    data = ok_json(rubric_cli("score", TT24, write(tmp_path, answers)))
    entry = indicators_of(data)["2.5"]
    assert entry["status"] == "không đạt"
    assert entry["percent"] == 89.96  # not 90.0 beside "không đạt"
    assert entry["percent"] < 90
    assert entry["fraction"] == "8996/10000"
    assert entry["percent_text"] == "90%"  # the rounded figure people read


def test_unquoted_yaml_codes_and_vietnamese_words(rubric_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(
        "1.1: có\n1.2: đạt\n1.3: Có\n1.4: true\n1.5: không đạt\n"
        "2.1: 31/32\n2.2: 31 32\n2.3: 30/32\n2.4: 20/32\n2.5: 29/32\n"
        "3.1: 30/32\n3.2: có\n3.3: có\n",
        encoding="utf-8",
    )
    data = ok_json(rubric_cli("score", TT24, str(path)))
    assert data["unmet"] == ["1.5"]
    assert data["recognised"] is False
    assert [c["status"] for c in data["criteria"]] == ["không đạt", "đạt", "đạt"]


def test_a_to_chuc_kinh_te_may_answer_na_for_1_3_and_2_4(rubric_cli: Cli, tmp_path: Path) -> None:
    answers = {**TT24_MET, "1.3": "na", "2.4": "na"}
    run = rubric_cli("score", TT24, write(tmp_path, answers), "--unit-kind", "to-chuc-kinh-te")
    data = ok_json(run)
    assert data["unit_kind"] == "to-chuc-kinh-te"
    assert data["recognised"] is True
    found = indicators_of(data)
    assert found["1.3"]["status"] == "không áp dụng"
    assert found["2.4"]["status"] == "không áp dụng"


def test_a_school_needs_95_percent_for_3_1(rubric_cli: Cli, tmp_path: Path) -> None:
    answers = {**TT24_MET, "1.3": "na", "3.1": "94/100", "3.4": "có"}
    school = ok_json(
        rubric_cli("score", TT24, write(tmp_path, answers), "--unit-kind", "giao-duc-pho-thong")
    )
    assert school["unmet"] == ["3.1"]
    assert indicators_of(school)["3.1"]["threshold"] == 95.0
    office = ok_json(rubric_cli("score", TT24, write(tmp_path, {**TT24_MET, "3.1": "94/100"})))
    assert office["unmet"] == []
    assert indicators_of(office)["3.1"]["threshold"] == 90.0


# --- refusals -----------------------------------------------------------------------------------


def without(answers: dict[str, object], code: str) -> dict[str, object]:
    return {key: value for key, value in answers.items() if key != code}


REFUSALS = [
    pytest.param(TT22, without(TT22_FULL, "3c"), ["3c", "chưa có câu trả lời"], id="missing"),
    pytest.param(TT22, {**TT22_FULL, "9z": 1}, ["9z", "không có"], id="unknown-code"),
    pytest.param(TT22, {**TT22_FULL, "3a1": 4}, ["3a1", "4", "từ 0 đến 3"], id="out-of-range"),
    pytest.param(TT22, {**TT22_FULL, "1a": -1}, ["1a", "-1", "từ 0 đến 10"], id="negative"),
    pytest.param(TT22, {**TT22_FULL, "2b": 7.5}, ["2b", "số nguyên"], id="half-point"),
    pytest.param(TT22, {**TT22_FULL, "3a": 25}, ["3a", "3a1"], id="composite-code"),
    pytest.param(TT24, {**TT24_MET, "2.1": "33/32"}, ["2.1", "33", "32"], id="above-total"),
    pytest.param(TT24, {**TT24_MET, "2.2": "0/0"}, ["2.2", "lớn hơn 0"], id="zero-total"),
    pytest.param(TT24, {**TT24_MET, "1.3": "na"}, ["1.3", "không áp dụng"], id="na-applies"),
    pytest.param(TT24, {**TT24_MET, "2.3": "90%"}, ["2.3", "31/32"], id="percent"),
    pytest.param(TT24, {**TT24_MET, "3.3": "maybe"}, ["3.3", "có"], id="not-yes-no"),
]


@pytest.mark.parametrize(("framework_id", "answers", "fragments"), REFUSALS)
def test_a_bad_answers_file_is_refused_on_one_line(
    rubric_cli: Cli,
    tmp_path: Path,
    framework_id: str,
    answers: dict[str, object],
    fragments: list[str],
) -> None:
    assert_refused(rubric_cli("score", framework_id, write(tmp_path, answers)), *fragments)


def test_na_for_3_4_is_refused_for_a_general_school(rubric_cli: Cli, tmp_path: Path) -> None:
    answers = {**TT24_MET, "1.3": "na", "3.4": "na"}
    run = rubric_cli("score", TT24, write(tmp_path, answers), "--unit-kind", "giao-duc-pho-thong")
    assert_refused(run, "3.4")


def test_an_unknown_framework_is_refused(rubric_cli: Cli, tmp_path: Path) -> None:
    line = assert_refused(rubric_cli("score", "tt99-2030", write(tmp_path, TT22_FULL)), "tt99-2030")
    assert TT22 in line  # says which frameworks exist


def test_an_unknown_unit_kind_is_refused(rubric_cli: Cli, tmp_path: Path) -> None:
    run = rubric_cli("score", TT24, write(tmp_path, TT24_MET), "--unit-kind", "truong-dai-hoc")
    line = assert_refused(run, "truong-dai-hoc")
    assert "co-quan" in line  # says which kinds exist


def test_a_wrong_yes_no_answer_names_the_words_a_file_takes(
    rubric_cli: Cli, tmp_path: Path
) -> None:
    """A chat types 1 for “có”; a file does not: its refusal names only the words."""
    run = rubric_cli("score", TT24, write(tmp_path, {**TT24_MET, "1.1": 1}))
    line = assert_refused(run, "1.1", "“có” (đạt) hoặc “không” (chưa đạt)")
    assert "1 hoặc" not in line


def test_a_missing_answers_file_is_refused(rubric_cli: Cli, tmp_path: Path) -> None:
    line = assert_refused(rubric_cli("score", TT22, str(tmp_path / "absent.yaml")), "absent.yaml")
    assert "không có tệp hoặc thư mục này" in line and "Errno" not in line  # said in Vietnamese


def test_an_answers_file_that_is_not_yaml_says_which_line(rubric_cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "answers.yaml"
    broken.write_text('"1a": 8\n"1b": [9\n', encoding="utf-8")
    line = assert_refused(rubric_cli("score", TT22, str(broken)), "answers.yaml")
    assert "không phải YAML hoặc JSON hợp lệ (dòng" in line and "while" not in line
    folder = assert_refused(rubric_cli("score", TT22, str(tmp_path)), str(tmp_path))
    assert "đây là một thư mục" in folder


# --- levels ---------------------------------------------------------------------------------------

TINH_THPT: dict[str, object] = {
    **{code: "có" for code in ("1.1", "1.2", "1.4", "1.5", "3.2", "3.3", "3.4")},
    "1.3": "na", "3.5": "na", "3.6": "na",
    "2.1": "48/50", "2.2": "50/50", "2.3": "47/50", "2.4": "30/50", "2.5": "46/50",
    "3.1": "1164/1200",
}  # fmt: skip


def score_tinh(cli: Cli, tmp_path: Path, *options: str, **changes: object) -> CliRun:
    answers = {**TINH_THPT, **{code.replace("_", "."): v for code, v in changes.items()}}
    path = write(tmp_path, answers)
    return cli("score", TT24_TINH, path, "--unit-kind", "thpt-gdtx", *options)


def test_without_level_the_top_level_keys_describe_level_1(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(score_tinh(rubric_cli, tmp_path, "--submitted-on", "2025-01-10"))
    assert (data["level"], data["recognised"], data["unmet"]) == (1, True, [])
    assert indicators_of(data)["2.4"]["threshold"] == 50.0
    assert set(data["levels"]) == {"1", "2"}
    for key in ("recognised", "indicators", "unmet", "criteria"):
        assert data["levels"]["1"][key] == data[key]
    two = data["levels"]["2"]
    assert two["recognised"] is False
    assert two["unmet"] == ["2.3", "2.4", "2.5"]
    assert indicators_of(two)["2.4"]["threshold"] == 70.0
    assert indicators_of(two)["3.1"]["threshold"] == 97.0
    assert indicators_of(two)["3.1"]["status"] == "đạt"  # 1164/1200 is exactly 97%
    assert data["highest_level"] == 1
    assert data["next_level"] == 2
    assert two["shortfalls"] == [
        {
            "code": "2.3",
            "people": 1,
            "message": "cần thêm 1 thành viên được đào tạo, bồi dưỡng và tham gia thực hiện"
            " chuyển đổi số để đạt 95%",
        },
        {
            "code": "2.4",
            "people": 5,
            "message": "cần thêm 5 thành viên có trình độ ngoại ngữ hoặc tiếng dân tộc thiểu số"
            " đáp ứng yêu cầu công việc để đạt 70%",
        },
        {
            "code": "2.5",
            "people": 2,
            "message": "cần thêm 2 thành viên đạt danh hiệu “Lao động tiên tiến” để đạt 95%",
        },
    ]
    assert data["levels"]["1"]["shortfalls"] == []
    assert [entry["status"] for entry in data["indicators"][-3:]] == [
        "đạt",
        "không áp dụng",
        "không áp dụng",
    ]


def test_level_2_makes_the_top_level_keys_describe_level_2(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(score_tinh(rubric_cli, tmp_path, "--level", "2"))
    assert data["level"] == 2
    assert data["recognised"] is False
    assert data["unmet"] == ["2.3", "2.4", "2.5"]
    for key in ("recognised", "indicators", "unmet", "criteria"):
        assert data["levels"]["2"][key] == data[key]
    assert "shortfalls" not in data


def test_level_2_eligibility_from_the_decision_date(rubric_cli: Cli, tmp_path: Path) -> None:
    met = {"2.3": "48/50", "2.4": "35/50", "2.5": "48/50"}
    decided = ("--level1-decision-date", "2024-02-29")
    early = ok_json(
        score_tinh(rubric_cli, tmp_path, *decided, "--submitted-on", "2025-01-10", **met)
    )
    assert early["highest_level"] == 2
    assert early["next_level"] is None
    assert early["level2_eligible"] is False
    assert early["level2_from"] == "2025-02-28"
    assert "28/02/2025" in early["level2_note"]
    assert early["requested_level"] == 1
    due = ok_json(score_tinh(rubric_cli, tmp_path, *decided, "--submitted-on", "2025-02-28", **met))
    assert due["level2_eligible"] is True
    assert due["requested_level"] == 2
    assert "có thể đề nghị công nhận mức độ 2" in due["level2_note"]


def test_without_a_decision_date_level_2_is_not_eligible(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(score_tinh(rubric_cli, tmp_path))  # --submitted-on defaults to today
    assert data["level2_eligible"] is False
    assert data["level2_from"] is None
    assert "Chưa có quyết định công nhận mức độ 1" in data["level2_note"]


def test_cap_huyen_keeps_its_level_1_output_and_adds_levels(
    rubric_cli: Cli, tmp_path: Path
) -> None:
    data = ok_json(rubric_cli("score", TT24, write(tmp_path, {**TT24_MET, "2.5": "30/32"})))
    assert (data["level"], data["recognised"], data["unmet"]) == (1, True, [])
    assert data["levels"]["2"]["unmet"] == ["2.5"]  # 93,75% < 95%
    assert data["highest_level"] == 1
    assert data["levels"]["2"]["shortfalls"][0]["people"] == 1


def test_a_points_framework_gets_no_level_keys(rubric_cli: Cli, tmp_path: Path) -> None:
    data = ok_json(rubric_cli("score", TT22, write(tmp_path, TT22_FULL)))
    for key in ("levels", "highest_level", "level2_eligible", "level2_note", "level", "unmet"):
        assert key not in data


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--submitted-on", "2025-13-01"),
        ("--submitted-on", "10/01/2025"),
        ("--submitted-on", "20250110"),
        ("--level1-decision-date", "2023-02-29"),
        ("--level1-decision-date", "hôm qua"),
    ],
)
def test_a_bad_date_is_refused_on_one_line(
    rubric_cli: Cli, tmp_path: Path, option: str, value: str
) -> None:
    assert_refused(score_tinh(rubric_cli, tmp_path, option, value), option, value, "YYYY-MM-DD")


@pytest.mark.parametrize("level", ["3", "0", "hai"])
def test_an_unknown_level_is_refused(rubric_cli: Cli, tmp_path: Path, level: str) -> None:
    line = assert_refused(score_tinh(rubric_cli, tmp_path, "--level", level), TT24_TINH, level)
    assert "1, 2" in line


def test_a_level_for_a_points_framework_is_refused(rubric_cli: Cli, tmp_path: Path) -> None:
    assert_refused(rubric_cli("score", TT22, write(tmp_path, TT22_FULL), "--level", "1"), TT22)
