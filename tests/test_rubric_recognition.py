"""Recognition under Thông tư 24/2023, cấp huyện, mức độ 1: đạt / không đạt / không áp dụng.

Percentages are decided on the exact fraction of the counts (31/32 ≥ 90%), shown with one decimal
and a decimal comma; which chỉ tiêu bind a unit depends on its kind.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rubric.answers import AnswerError, Counts, NotApplicable, leaf_specs, parse_answers
from rubric.loader import kind, load_kinds
from rubric.model import Applicability, Framework
from rubric.scoring import (
    CriterionJudgement,
    Judgement,
    RecognitionResult,
    Status,
    judge_recognition,
)
from templates.formatting import format_percent

KIND_IDS = [
    "co-quan",
    "mam-non-cong-lap",
    "giao-duc-pho-thong",
    "thpt-gdtx",
    "giao-duc-nghe-nghiep",
    "dai-hoc",
    "co-so-giao-duc-khac",
    "to-chuc-kinh-te",
    "khac",
]
SCHOOL_KINDS = [
    "mam-non-cong-lap",
    "giao-duc-pho-thong",
    "thpt-gdtx",
    "giao-duc-nghe-nghiep",
    "dai-hoc",
    "co-so-giao-duc-khac",
]
COUNTS_CODES = ["2.1", "2.2", "2.3", "2.4", "2.5", "3.1"]


def all_met(unit_kind: str) -> dict[str, object]:
    """Answers meeting every chỉ tiêu that binds a unit of `unit_kind` ("na" for the others)."""
    answers: dict[str, object] = {
        "1.1": "có", "1.2": "có", "1.3": "có", "1.4": "có", "1.5": "có",
        "2.1": "32/32", "2.2": "32/32", "2.3": "32/32", "2.4": "32/32", "2.5": "32/32",
        "3.1": "100/100", "3.2": "có", "3.3": "có", "3.4": "na", "3.5": "na",
    }  # fmt: skip
    if unit_kind == "to-chuc-kinh-te":
        answers["1.3"] = "na"
        answers["2.4"] = "na"
    if unit_kind == "giao-duc-pho-thong":
        answers["3.4"] = "có"
    if unit_kind == "giao-duc-nghe-nghiep":
        answers["3.5"] = "có"
    return answers


def judge(tt24: Framework, unit_kind: str, **changes: object) -> RecognitionResult:
    raw = all_met(unit_kind)
    raw.update({code.replace("_", "."): value for code, value in changes.items()})
    k = kind(unit_kind)
    return judge_recognition(tt24, k, parse_answers(tt24, k, raw))


def indicator(result: RecognitionResult, code: str) -> Judgement:
    return next(j for j in result.judgements if j.code == code)


def criterion(result: RecognitionResult, code: str) -> CriterionJudgement:
    return next(c for c in result.criteria if c.code == code)


def test_the_kind_ids_of_the_issue_exist() -> None:
    assert [k.id for k in load_kinds()] == KIND_IDS


@pytest.mark.parametrize("unit_kind", KIND_IDS)
def test_a_unit_meeting_every_binding_chi_tieu_is_recognised(
    tt24: Framework, unit_kind: str
) -> None:
    result = judge(tt24, unit_kind)
    assert result.complete
    assert result.recognised is True
    assert result.level == 1
    assert result.unmet == []
    assert all(c.status is Status.DAT for c in result.criteria)


# --- Counts against thresholds ---------------------------------------------------------------


def test_31_of_32_meets_90_percent_and_shows_96_9(tt24: Framework) -> None:
    result = judge(tt24, "co-quan", **{"2.1": "31/32"})
    j = indicator(result, "2.1")
    assert j.status is Status.DAT
    assert j.answer == Counts(31, 32)
    assert j.threshold == Decimal(90)
    assert j.percent == Decimal("96.9")
    assert format_percent(j.percent) == "96,9%"
    assert result.recognised is True


def test_28_of_32_fails_90_percent_and_blocks_recognition(tt24: Framework) -> None:
    result = judge(tt24, "co-quan", **{"2.2": "28/32"})
    j = indicator(result, "2.2")
    assert j.status is Status.KHONG_DAT
    assert j.percent == Decimal("87.5")
    assert j.shortfall == 1  # 29/32 = 90.625% would have met it
    assert result.recognised is False
    assert result.unmet == ["2.2"]
    assert criterion(result, "2").status is Status.KHONG_DAT
    assert criterion(result, "1").status is Status.DAT
    assert criterion(result, "3").status is Status.DAT


def test_16_of_32_meets_the_50_percent_of_2_4(tt24: Framework) -> None:
    result = judge(tt24, "co-quan", **{"2.4": "16/32"})
    j = indicator(result, "2.4")
    assert j.threshold == Decimal(50)
    assert j.status is Status.DAT
    assert result.recognised is True
    below = judge(tt24, "co-quan", **{"2.4": "15/32"})
    assert indicator(below, "2.4").status is Status.KHONG_DAT
    assert below.unmet == ["2.4"]


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        ("9/10", Status.DAT),  # exactly 90%
        ("900/1000", Status.DAT),
        ("899/1000", Status.KHONG_DAT),  # 89.9%
        ("8999/10000", Status.KHONG_DAT),
        ("27/30", Status.DAT),
        ("26/30", Status.KHONG_DAT),
    ],
)
def test_the_decision_is_on_the_exact_fraction(
    tt24: Framework, counts: str, status: Status
) -> None:
    result = judge(tt24, "co-quan", **{"2.5": counts})
    assert indicator(result, "2.5").status is status
    assert result.recognised is (status is Status.DAT)


def test_a_figure_that_rounds_up_to_the_threshold_still_fails(tt24: Framework) -> None:
    result = judge(tt24, "co-quan", **{"2.3": "8995/10000"})  # 89.95% shows as 90.0
    j = indicator(result, "2.3")
    assert j.percent == Decimal("90.0")
    assert j.status is Status.KHONG_DAT
    assert result.unmet == ["2.3"]


@settings(max_examples=80, deadline=None)
@given(
    total=st.integers(min_value=1, max_value=2000),
    data=st.data(),
    code=st.sampled_from(COUNTS_CODES),
    unit_kind=st.sampled_from(["co-quan", "giao-duc-pho-thong"]),
)
def test_counts_status_and_percent_follow_integer_arithmetic(
    tt24: Framework, total: int, data: st.DataObject, code: str, unit_kind: str
) -> None:
    achieved = data.draw(st.integers(min_value=0, max_value=total))
    thresholds = {"2.1": 90, "2.2": 90, "2.3": 90, "2.4": 50, "2.5": 90}
    thresholds["3.1"] = 95 if unit_kind == "giao-duc-pho-thong" else 90
    result = judge(tt24, unit_kind, **{code: f"{achieved}/{total}"})
    j = indicator(result, code)
    met = achieved * 100 >= thresholds[code] * total
    assert j.status is (Status.DAT if met else Status.KHONG_DAT)
    assert result.unmet == ([] if met else [code])
    tenths = (2000 * achieved + total) // (2 * total)  # 1000·a/t rounded half up
    assert j.percent == Decimal(tenths) / 10
    # one decimal, and none when it is zero ("70%", "96,9%": issue 20)
    decimal = f",{tenths % 10}" if tenths % 10 else ""
    assert format_percent(Fraction(achieved, total)) == f"{tenths // 10}{decimal}%"


# --- Applicability by unit kind ----------------------------------------------------------------


def applicability(tt24: Framework, unit_kind: str, code: str) -> Applicability:
    return leaf_specs(tt24, kind(unit_kind))[code].applicability


def test_1_3_does_not_apply_to_a_to_chuc_kinh_te(tt24: Framework) -> None:
    assert applicability(tt24, "to-chuc-kinh-te", "1.3") is Applicability.NOT_APPLICABLE
    # whatever the file says, 1.3 is shown as "không áp dụng" and does not block recognition
    result = judge(tt24, "to-chuc-kinh-te", **{"1.3": "không"})
    assert indicator(result, "1.3").status is Status.KHONG_AP_DUNG
    assert result.recognised is True


@pytest.mark.parametrize("unit_kind", ["co-quan", "mam-non-cong-lap"])
def test_1_3_binds_a_co_quan_and_a_public_preschool(tt24: Framework, unit_kind: str) -> None:
    assert applicability(tt24, unit_kind, "1.3") is Applicability.REQUIRED
    with pytest.raises(AnswerError) as caught:
        judge(tt24, unit_kind, **{"1.3": "na"})
    assert caught.value.code == "1.3"
    assert caught.value.reason == "na_not_allowed"
    result = judge(tt24, unit_kind, **{"1.3": "không"})
    assert result.unmet == ["1.3"]
    assert result.recognised is False


def test_1_3_is_the_units_own_call_for_a_school(tt24: Framework) -> None:
    unit_kind = "giao-duc-pho-thong"
    assert applicability(tt24, unit_kind, "1.3") is Applicability.OPTIONAL
    skipped = judge(tt24, unit_kind, **{"1.3": "không áp dụng"})
    assert indicator(skipped, "1.3").status is Status.KHONG_AP_DUNG
    assert skipped.recognised is True
    failed = judge(tt24, unit_kind, **{"1.3": "không"})
    assert failed.unmet == ["1.3"]


def test_2_4_does_not_apply_to_a_to_chuc_kinh_te(tt24: Framework) -> None:
    assert applicability(tt24, "to-chuc-kinh-te", "2.4") is Applicability.NOT_APPLICABLE
    result = judge(tt24, "to-chuc-kinh-te", **{"2.4": "3/32"})
    assert indicator(result, "2.4").status is Status.KHONG_AP_DUNG
    assert isinstance(indicator(result, "2.4").answer, NotApplicable)
    assert result.recognised is True
    assert criterion(result, "2").status is Status.DAT
    for other in (k for k in KIND_IDS if k != "to-chuc-kinh-te"):
        assert applicability(tt24, other, "2.4") is Applicability.REQUIRED


@pytest.mark.parametrize("unit_kind", [k for k in KIND_IDS if k != "thpt-gdtx"])
def test_3_4_binds_only_general_schools_and_3_5_only_vocational_ones(
    tt24: Framework, unit_kind: str
) -> None:
    expect_34 = unit_kind == "giao-duc-pho-thong"
    expect_35 = unit_kind == "giao-duc-nghe-nghiep"
    required, na = Applicability.REQUIRED, Applicability.NOT_APPLICABLE
    assert applicability(tt24, unit_kind, "3.4") is (required if expect_34 else na)
    assert applicability(tt24, unit_kind, "3.5") is (required if expect_35 else na)
    result = judge(tt24, unit_kind, **{"3.4": "không", "3.5": "không"})
    expected_unmet = [code for code, binds in (("3.4", expect_34), ("3.5", expect_35)) if binds]
    assert result.unmet == expected_unmet
    assert result.recognised is not expected_unmet
    if not expected_unmet:
        assert indicator(result, "3.4").status is Status.KHONG_AP_DUNG
        assert indicator(result, "3.5").status is Status.KHONG_AP_DUNG


def test_3_4_is_the_units_own_call_for_a_thpt_or_gdtx_centre_at_cap_huyen(tt24: Framework) -> None:
    # a trường THPT is a cơ sở giáo dục phổ thông (3.4 binds it), a trung tâm GDTX is not
    assert applicability(tt24, "thpt-gdtx", "3.4") is Applicability.OPTIONAL
    assert applicability(tt24, "thpt-gdtx", "3.5") is Applicability.NOT_APPLICABLE
    centre = judge(tt24, "thpt-gdtx", **{"1.3": "na", "3.4": "na"})
    assert indicator(centre, "3.4").status is Status.KHONG_AP_DUNG
    assert centre.recognised is True
    school = judge(tt24, "thpt-gdtx", **{"1.3": "na", "3.4": "không"})
    assert school.unmet == ["3.4"]


@pytest.mark.parametrize("unit_kind", ["giao-duc-pho-thong", "giao-duc-nghe-nghiep"])
def test_na_for_the_schools_own_digital_or_accreditation_chi_tieu_is_refused(
    tt24: Framework, unit_kind: str
) -> None:
    code = "3.4" if unit_kind == "giao-duc-pho-thong" else "3.5"
    with pytest.raises(AnswerError) as caught:
        judge(tt24, unit_kind, **{code: "na"})
    assert caught.value.code == code
    assert caught.value.reason == "na_not_allowed"


@pytest.mark.parametrize(
    ("unit_kind", "threshold"),
    [(k, 95) for k in SCHOOL_KINDS] + [("co-quan", 90), ("to-chuc-kinh-te", 90), ("khac", 90)],
)
def test_3_1_threshold_is_95_for_schools_and_90_otherwise(
    tt24: Framework, unit_kind: str, threshold: int
) -> None:
    at = judge(tt24, unit_kind, **{"3.1": f"{threshold}/100"})
    below = judge(tt24, unit_kind, **{"3.1": f"{threshold - 1}/100"})
    assert indicator(at, "3.1").threshold == Decimal(threshold)
    assert indicator(at, "3.1").status is Status.DAT
    assert indicator(below, "3.1").status is Status.KHONG_DAT
    assert below.unmet == ["3.1"]
    assert at.recognised is True
    assert below.recognised is False


def test_3_1_for_a_school_counts_learners(tt24: Framework) -> None:
    school = indicator(judge(tt24, "giao-duc-pho-thong", **{"3.1": "94/100"}), "3.1")
    office = indicator(judge(tt24, "co-quan", **{"3.1": "94/100"}), "3.1")
    assert school.status is Status.KHONG_DAT
    assert office.status is Status.DAT
    assert school.indicator.subject == "người học"
    assert "95% Người học" in school.indicator.text
    assert office.indicator.subject == "thành viên"
    assert "90% thành viên" in office.indicator.text


# --- Tiêu chí and recognition -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["1.1", "1.2", "1.4", "1.5", "3.2", "3.3"])
def test_one_unmet_yes_no_chi_tieu_fails_its_tieu_chi(tt24: Framework, code: str) -> None:
    result = judge(tt24, "co-quan", **{code: "không đạt"})
    assert result.unmet == [code]
    assert result.recognised is False
    for c in result.criteria:
        expected = Status.KHONG_DAT if c.code == code[0] else Status.DAT
        assert c.status is expected, c.code


def test_a_tieu_chi_with_a_chi_tieu_not_applying_is_still_dat(tt24: Framework) -> None:
    result = judge(tt24, "to-chuc-kinh-te")
    statuses = {j.code: j.status for j in result.judgements}
    assert statuses["1.3"] is Status.KHONG_AP_DUNG
    assert statuses["2.4"] is Status.KHONG_AP_DUNG
    assert criterion(result, "1").status is Status.DAT
    assert criterion(result, "2").status is Status.DAT


def test_every_unmet_chi_tieu_is_listed_in_questionnaire_order(tt24: Framework) -> None:
    result = judge(tt24, "co-quan", **{"3.3": "không", "1.4": False, "2.1": "0/32"})
    assert result.unmet == ["1.4", "2.1", "3.3"]
    assert [c.status for c in result.criteria] == [Status.KHONG_DAT] * 3
    assert result.recognised is False


def test_an_unanswered_chi_tieu_leaves_the_result_open(tt24: Framework) -> None:
    k = kind("co-quan")
    raw = all_met("co-quan")
    del raw["3.3"]
    with pytest.raises(AnswerError) as caught:
        parse_answers(tt24, k, raw)
    assert caught.value.code == "3.3"
    assert caught.value.reason == "missing"
    result = judge_recognition(tt24, k, parse_answers(tt24, k, raw, complete=False))
    assert not result.complete
    assert result.recognised is False
    assert criterion(result, "3").status is None
