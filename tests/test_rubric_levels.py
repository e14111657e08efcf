"""Thông tư 24/2023 at both levels: one set of answers judged at mức độ 1 and 2 at once.

The thresholds below are written from the circular (tt24-2023.md), independently of the framework
files: mức độ 1 90/90/90/50/90% and 3.1 90% (95% of người học in a cơ sở giáo dục); mức độ 2
95/95/95/70/95% and 3.1 95% (97%). Every one is tried at its exact boundary.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from conftest import TT24, TT24_TINH
from hypothesis import given, settings
from hypothesis import strategies as st

from rubric.answers import AnswerError, leaf_specs, parse_answers
from rubric.dates import add_months, deadline_for, last_filing_day
from rubric.levels import LevelsResult, judge_levels, level2_eligibility
from rubric.loader import kind, load_framework, load_kinds
from rubric.model import Applicability, Framework
from rubric.scoring import Judgement, RecognitionResult, Status, evaluate, judge_recognition

SUBMITTED = date(2025, 1, 10)
KIND_IDS = [k.id for k in load_kinds()]
SCHOOLS = {k.id for k in load_kinds() if "co-so-giao-duc" in k.groups}

# (level, code, school?) -> threshold in %, as the circular writes it
THRESHOLDS = {
    **{(1, code, school): 90 for code in ("2.1", "2.2", "2.3", "2.5") for school in (0, 1)},
    **{(2, code, school): 95 for code in ("2.1", "2.2", "2.3", "2.5") for school in (0, 1)},
    (1, "2.4", 0): 50, (1, "2.4", 1): 50, (2, "2.4", 0): 70, (2, "2.4", 1): 70,
    (1, "3.1", 0): 90, (1, "3.1", 1): 95, (2, "3.1", 0): 95, (2, "3.1", 1): 97,
}  # fmt: skip

# the chỉ tiêu of tiêu chí 3 that name a kind of unit, and the kinds each binds
CAP_TINH_SCOPED = {"3.4": {"thpt-gdtx"}, "3.5": {"dai-hoc"}, "3.6": {"giao-duc-nghe-nghiep"}}
CAP_HUYEN_SCOPED = {"3.4": {"giao-duc-pho-thong"}, "3.5": {"giao-duc-nghe-nghiep"}}


def framework(framework_id: str) -> Framework:
    return load_framework(framework_id)


def all_met(fw: Framework, unit_kind: str) -> dict[str, object]:
    """Answers meeting every chỉ tiêu at both levels that binds `unit_kind`, "na" elsewhere."""
    scoped = CAP_TINH_SCOPED if fw.unit_level == "cap-tinh" else CAP_HUYEN_SCOPED
    answers: dict[str, object] = dict.fromkeys(fw.leaf_codes(), "có")
    answers.update(dict.fromkeys(["2.1", "2.2", "2.3", "2.4", "2.5"], "40/40"))
    answers["3.1"] = "100/100"
    for code, kinds in scoped.items():
        answers[code] = "có" if unit_kind in kinds else "na"
    if unit_kind == "to-chuc-kinh-te":
        answers["1.3"] = answers["2.4"] = "na"
    return answers


def judge(
    fw: Framework, unit_kind: str, decided: date | None = None, **changes: object
) -> LevelsResult:
    raw = {**all_met(fw, unit_kind), **{k.replace("_", "."): v for k, v in changes.items()}}
    k = kind(unit_kind)
    answers = parse_answers(fw, k, raw)
    return judge_levels(fw, k, answers, submitted_on=SUBMITTED, level1_decision_date=decided)


def judgement(result: RecognitionResult, code: str) -> Judgement:
    return next(j for j in result.judgements if j.code == code)


# --- the data: thresholds and wording per level ------------------------------------------------


@pytest.mark.parametrize("framework_id", [TT24, TT24_TINH])
@pytest.mark.parametrize("unit_kind", ["co-quan", "thpt-gdtx", "dai-hoc", "mam-non-cong-lap"])
def test_each_level_has_the_thresholds_of_the_circular(framework_id: str, unit_kind: str) -> None:
    fw = framework(framework_id)
    result = judge(fw, unit_kind)
    school = int(unit_kind in SCHOOLS)
    for level in (1, 2):
        found = {j.code: j.threshold for j in result.at(level).judgements if j.threshold}
        expected = {
            code: Decimal(t) for (n, code, s), t in THRESHOLDS.items() if (n, s) == (level, school)
        }
        assert found == expected, (level, found)


@pytest.mark.parametrize("framework_id", [TT24, TT24_TINH])
def test_2_4_reads_trinh_do_and_70_percent_at_level_2(framework_id: str) -> None:
    fw = framework(framework_id)
    one, two = fw.indicator("2.4").at_level(1), fw.indicator("2.4").at_level(2)
    assert "50%" in one.text and "chứng nhận hoặc chứng chỉ" in one.text
    assert "70%" in two.text and "có trình độ ngoại ngữ" in two.text
    assert "chứng chỉ" not in two.text
    assert (one.threshold, two.threshold) == (Decimal(50), Decimal(70))


@pytest.mark.parametrize(
    ("framework_id", "code", "decision"),
    [(TT24, "3.4", "4725"), (TT24_TINH, "3.4", "4725"), (TT24_TINH, "3.5", "4740")],
)
def test_digital_transformation_is_mức_đáp_ứng_tốt_at_level_2(
    framework_id: str, code: str, decision: str
) -> None:
    indicator = framework(framework_id).indicator(code)
    assert "“mức đáp ứng cơ bản”" in indicator.at_level(1).text
    assert "“mức đáp ứng tốt”" in indicator.at_level(2).text
    assert all(decision in indicator.at_level(n).text for n in (1, 2))


@pytest.mark.parametrize(
    ("framework_id", "unchanged"),
    [
        (TT24, ["1.1", "1.2", "1.3", "1.4", "1.5", "3.2", "3.5"]),  # 3.5: kiểm định GDNN
        (TT24_TINH, ["1.1", "1.2", "1.3", "1.4", "1.5", "3.2", "3.3", "3.6"]),
    ],
)
def test_tieu_chi_1_and_accreditation_do_not_change_at_level_2(
    framework_id: str, unchanged: list[str]
) -> None:
    fw = framework(framework_id)
    for ind in fw.indicators:
        assert (ind.at_level(2) == ind) is (ind.code in unchanged), ind.code


# --- counts at the exact boundary, both levels ---------------------------------------------------

BOUNDARIES = [
    # code, unit kind, exactly at the threshold, one short; level 1 and level 2 thresholds
    ("2.5", "co-quan", "19/20", "18/20", 2),  # 95% of 20 = 19 exactly
    ("2.1", "co-quan", "19/20", "18/20", 2),
    ("2.2", "co-quan", "95/100", "94/100", 2),
    ("2.3", "co-quan", "57/60", "56/60", 2),
    ("2.4", "co-quan", "7/10", "69/100", 2),  # 70%
    ("2.4", "co-quan", "35/50", "34/50", 2),
    ("2.4", "co-quan", "1/2", "49/100", 1),  # 50%
    ("2.5", "co-quan", "9/10", "89/100", 1),  # 90%
    ("3.1", "co-quan", "19/20", "18/20", 2),  # 95% of thành viên
    ("3.1", "co-quan", "9/10", "8/10", 1),
    ("3.1", "thpt-gdtx", "97/100", "96/100", 2),  # 97% of người học
    ("3.1", "dai-hoc", "970/1000", "969/1000", 2),
    ("3.1", "giao-duc-pho-thong", "19/20", "18/20", 1),  # 95% of người học at mức độ 1
]


@pytest.mark.parametrize("framework_id", [TT24, TT24_TINH])
@pytest.mark.parametrize(("code", "unit_kind", "at", "below", "level"), BOUNDARIES)
def test_counts_exactly_on_the_threshold_meet_it_and_one_less_does_not(
    framework_id: str, code: str, unit_kind: str, at: str, below: str, level: int
) -> None:
    fw = framework(framework_id)
    met = judge(fw, unit_kind, **{code: at})
    short = judge(fw, unit_kind, **{code: below})
    assert judgement(met.at(level), code).status is Status.DAT
    assert met.at(level).recognised is True
    assert judgement(short.at(level), code).status is Status.KHONG_DAT
    assert short.at(level).unmet == [code]
    assert short.at(level).recognised is False
    assert met.highest_level == level  # a mức độ 1 boundary (90%) is below every mức độ 2 one
    assert short.highest_level == (level - 1 or None)  # one short of mức độ 2 still meets 1


@settings(max_examples=120, deadline=None)
@given(
    total=st.integers(min_value=1, max_value=3000),
    data=st.data(),
    code=st.sampled_from(["2.1", "2.2", "2.3", "2.4", "2.5", "3.1"]),
    unit_kind=st.sampled_from(["co-quan", "thpt-gdtx", "dai-hoc"]),
    framework_id=st.sampled_from([TT24, TT24_TINH]),
)
def test_status_and_gap_follow_integer_arithmetic_at_every_level(
    total: int, data: st.DataObject, code: str, unit_kind: str, framework_id: str
) -> None:
    achieved = data.draw(st.integers(min_value=0, max_value=total))
    result = judge(framework(framework_id), unit_kind, **{code: f"{achieved}/{total}"})
    for level in (1, 2):
        percent = THRESHOLDS[(level, code, int(unit_kind in SCHOOLS))]
        j = judgement(result.at(level), code)
        met = achieved * 100 >= percent * total
        assert j.status is (Status.DAT if met else Status.KHONG_DAT)
        gap = j.shortfall
        # the smallest number of extra achievers, the total unchanged, that reaches the threshold
        assert (achieved + gap) * 100 >= percent * total
        assert gap == 0 or (achieved + gap - 1) * 100 < percent * total
        assert achieved + gap <= total
        assert (gap == 0) is met


# --- the gap in people ---------------------------------------------------------------------------


def test_the_gap_is_said_in_people() -> None:
    result = judge(framework(TT24), "co-quan", **{"2.5": "17/20"})
    assert result.highest_level is None  # 85% fails mức độ 1 too
    assert result.next_level == 1
    gaps = {gap.code: gap for gap in result.at(2).shortfalls}
    assert gaps["2.5"].people == 2
    assert gaps["2.5"].message == (
        "cần thêm 2 thành viên đạt danh hiệu “Lao động tiên tiến” để đạt 95%"
    )
    assert [gap.message for gap in result.shortfalls] == [
        "cần thêm 1 thành viên đạt danh hiệu “Lao động tiên tiến” để đạt 90%"
    ]


def test_the_level_above_the_highest_met_lists_each_gap() -> None:
    result = judge(
        framework(TT24_TINH), "thpt-gdtx", **{"2.4": "30/50", "3.1": "1164/1200", "3.4": "có"}
    )
    assert result.highest_level == 1
    assert result.next_level == 2
    (gap,) = result.shortfalls  # 3.1: 1164/1200 is exactly the 97% of người học
    assert (gap.code, gap.people) == ("2.4", 5)
    assert gap.message == (
        "cần thêm 5 thành viên có trình độ ngoại ngữ hoặc tiếng dân tộc thiểu số đáp ứng yêu cầu"
        " công việc để đạt 70%"
    )


def test_a_school_gap_counts_learners() -> None:
    result = judge(framework(TT24_TINH), "dai-hoc", **{"3.1": "1930/2000"})  # 96.5% < 97%
    assert result.highest_level == 1
    (gap,) = result.shortfalls
    assert gap.people == 10
    assert gap.message == "cần thêm 10 người học đạt danh hiệu “Công dân học tập” để đạt 97%"


def test_a_yes_no_gap_says_what_is_required() -> None:
    result = judge(framework(TT24_TINH), "thpt-gdtx", **{"3.4": "không"})
    assert result.highest_level is None
    (gap,) = result.shortfalls
    assert gap.code == "3.4"
    assert gap.people is None
    assert gap.message.startswith("cần đáp ứng: ")
    assert "“mức đáp ứng cơ bản”" in gap.message


def test_no_gap_at_the_top() -> None:
    result = judge(framework(TT24), "co-quan")
    assert result.highest_level == 2
    assert result.next_level is None
    assert result.shortfalls == []


# --- which chỉ tiêu bind which kind, at cấp tỉnh -------------------------------------------------


def expected_na_cap_tinh(unit_kind: str) -> set[str]:
    na = {code for code, kinds in CAP_TINH_SCOPED.items() if unit_kind not in kinds}
    if unit_kind == "to-chuc-kinh-te":
        na |= {"1.3", "2.4"}
    return na


@pytest.mark.parametrize("unit_kind", KIND_IDS)
def test_each_kind_at_cap_tinh_has_the_right_chi_tieu_not_applicable(unit_kind: str) -> None:
    fw = framework(TT24_TINH)
    result = judge(fw, unit_kind, **{"3.4": "không", "3.5": "không", "3.6": "không"})
    for level in (1, 2):
        statuses = {j.code: j.status for j in result.at(level).judgements}
        na = {code for code, status in statuses.items() if status is Status.KHONG_AP_DUNG}
        expected = expected_na_cap_tinh(unit_kind)
        if unit_kind in ("co-quan", "mam-non-cong-lap", "to-chuc-kinh-te"):
            assert na == expected, (level, na)
        else:  # 1.3 is the unit's own call (answered "có" here), so it is not in `na`
            assert na == expected - {"1.3"}, (level, na)
        bound = [code for code, kinds in CAP_TINH_SCOPED.items() if unit_kind in kinds]
        assert result.at(level).unmet == bound
    assert result.highest_level == (None if bound else 2)


@pytest.mark.parametrize("unit_kind", KIND_IDS)
def test_the_questionnaire_asks_a_scoped_chi_tieu_only_of_its_kind(unit_kind: str) -> None:
    fw = framework(TT24_TINH)
    specs = {code: spec.applicability for code, spec in leaf_specs(fw, kind(unit_kind)).items()}
    for code, kinds in CAP_TINH_SCOPED.items():
        expected = Applicability.REQUIRED if unit_kind in kinds else Applicability.NOT_APPLICABLE
        assert specs[code] is expected, code


def test_cap_tinh_3_4_binds_thpt_not_lower_general_schools() -> None:
    result = judge(framework(TT24_TINH), "giao-duc-pho-thong", **{"3.4": "không"})
    assert judgement(result.at(1), "3.4").status is Status.KHONG_AP_DUNG
    assert result.highest_level == 2


# --- cấp huyện 3.3 at mức độ 2 binds only cơ quan, đơn vị sự nghiệp công lập -------------------


def test_cap_huyen_3_3_at_level_2_does_not_bind_a_to_chuc_kinh_te() -> None:
    result = judge(framework(TT24), "to-chuc-kinh-te", **{"3.3": "không"})
    assert judgement(result.at(1), "3.3").status is Status.KHONG_DAT
    assert judgement(result.at(2), "3.3").status is Status.KHONG_AP_DUNG
    assert result.at(1).unmet == ["3.3"]
    assert result.at(2).recognised is True  # mức độ 2 is judged on its own chỉ tiêu
    assert result.highest_level == 2


@pytest.mark.parametrize("unit_kind", ["co-quan", "mam-non-cong-lap"])
def test_cap_huyen_3_3_at_level_2_binds_public_bodies(unit_kind: str) -> None:
    fw = framework(TT24)
    assert fw.indicator("3.3").at_level(2).applicability(kind(unit_kind)) is Applicability.REQUIRED
    result = judge(fw, unit_kind, **{"3.3": "không"})
    assert result.at(2).unmet == ["3.3"]
    assert "cơ quan, đơn vị sự nghiệp công lập" in judgement(result.at(2), "3.3").indicator.text


def test_one_answer_serves_both_levels_so_na_is_refused_where_any_level_binds() -> None:
    fw, company = framework(TT24), kind("to-chuc-kinh-te")
    assert leaf_specs(fw, company)["3.3"].applicability is Applicability.REQUIRED
    with pytest.raises(AnswerError) as caught:
        parse_answers(fw, company, {**all_met(fw, "to-chuc-kinh-te"), "3.3": "na"})
    assert (caught.value.code, caught.value.reason) == ("3.3", "na_not_allowed")


def test_cap_huyen_3_3_at_level_2_is_a_schools_own_call() -> None:
    indicator = framework(TT24).indicator("3.3")
    school = kind("giao-duc-pho-thong")
    assert indicator.at_level(1).applicability(school) is Applicability.REQUIRED
    assert indicator.at_level(2).applicability(school) is Applicability.OPTIONAL


def test_cap_tinh_3_3_binds_every_unit_at_both_levels() -> None:
    indicator = framework(TT24_TINH).indicator("3.3")
    for unit_kind in KIND_IDS:
        for level in (1, 2):
            applicability = indicator.at_level(level).applicability(kind(unit_kind))
            assert applicability is Applicability.REQUIRED


# --- mức độ 2 only 12 months after mức độ 1 ------------------------------------------------------


def test_level_2_is_refused_11_months_after_level_1_and_offered_at_12() -> None:
    decided = date(2024, 1, 15)
    eleven = level2_eligibility(decided, date(2024, 12, 15))
    assert eleven.eligible is False
    assert eleven.possible_from == date(2025, 1, 15)
    assert "15/01/2025" in eleven.note
    assert "15/01/2024" in eleven.note
    day_before = level2_eligibility(decided, date(2025, 1, 14))
    assert day_before.eligible is False
    twelve = level2_eligibility(decided, date(2025, 1, 15))
    assert twelve.eligible is True
    assert twelve.possible_from == date(2025, 1, 15)
    assert "có thể đề nghị công nhận mức độ 2" in twelve.note


def test_the_decision_number_is_named_in_the_note() -> None:
    note = level2_eligibility(date(2024, 3, 1), date(2024, 9, 1), "125/QĐ-UBND").note
    assert "số 125/QĐ-UBND ngày 01/03/2024" in note
    assert "01/03/2025" in note


def test_without_a_decision_date_level_2_is_not_eligible() -> None:
    eligibility = level2_eligibility(None, SUBMITTED)
    assert eligibility.eligible is False
    assert eligibility.possible_from is None
    assert "Chưa có quyết định công nhận mức độ 1" in eligibility.note


def test_a_decision_on_29_february_counts_to_28_february() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert level2_eligibility(date(2024, 2, 29), date(2025, 2, 27)).eligible is False
    assert level2_eligibility(date(2024, 2, 29), date(2025, 2, 28)).eligible is True


@settings(max_examples=200, deadline=None)
@given(
    decided=st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
    offset=st.integers(min_value=-400, max_value=400),
)
def test_eligibility_is_exactly_twelve_calendar_months(decided: date, offset: int) -> None:
    possible = add_months(decided, 12)
    assert (possible.year, possible.month) == (decided.year + 1, decided.month)
    assert possible.day == decided.day or (decided.month, decided.day) == (2, 29)
    submitted = date.fromordinal(possible.toordinal() + offset)
    assert level2_eligibility(decided, submitted).eligible is (offset >= 0)


def test_highest_level_is_independent_of_eligibility() -> None:
    fw = framework(TT24)
    too_soon = judge(fw, "co-quan", decided=date(2024, 6, 1))
    in_time = judge(fw, "co-quan", decided=date(2024, 1, 10))
    never = judge(fw, "co-quan")
    assert too_soon.highest_level == in_time.highest_level == never.highest_level == 2
    assert (too_soon.level2_eligible, in_time.level2_eligible, never.level2_eligible) == (
        False,
        True,
        False,
    )
    assert too_soon.level2_from == date(2025, 6, 1)
    assert "01/06/2025" in too_soon.level2_note
    assert (too_soon.requested_level, in_time.requested_level, never.requested_level) == (1, 2, 1)


def test_requested_level_is_none_when_nothing_is_met() -> None:
    result = judge(framework(TT24), "co-quan", decided=date(2020, 1, 1), **{"1.1": "không"})
    assert result.highest_level is None
    assert result.level2_eligible is True
    assert result.requested_level is None


def test_level_1_met_and_eligible_but_level_2_not_met_asks_level_1() -> None:
    result = judge(framework(TT24), "co-quan", decided=date(2020, 1, 1), **{"2.1": "90/100"})
    assert result.highest_level == 1
    assert result.requested_level == 1


# --- the existing entry points keep meaning mức độ 1 ----------------------------------------------


def test_evaluate_and_judge_recognition_default_to_level_1() -> None:
    fw, k = framework(TT24), kind("co-quan")
    answers = parse_answers(fw, k, {**all_met(fw, "co-quan"), "2.5": "18/20"})
    by_default = evaluate(fw, k, answers)
    assert isinstance(by_default, RecognitionResult)
    assert (by_default.level, by_default.recognised) == (1, True)
    at_two = judge_recognition(fw, k, answers, level=2)
    assert (at_two.level, at_two.unmet) == (2, ["2.5"])
    assert evaluate(fw, k, answers, level=2) == at_two
    with pytest.raises(ValueError):
        judge_recognition(fw, k, answers, level=3)


# --- deadlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize("framework_id", [TT24, TT24_TINH])
def test_tt24_files_before_15_january_of_the_next_year(framework_id: str) -> None:
    fw = framework(framework_id)
    assert deadline_for(fw, 2024) == date(2025, 1, 15)
    assert last_filing_day(fw, 2024) == date(2025, 1, 14)
    assert "trước ngày 15/01 năm sau" in fw.report.deadline


def test_tt22_files_by_31_march_of_the_next_year(tt22: Framework) -> None:
    assert deadline_for(tt22, 2023) == date(2024, 3, 31)
    assert last_filing_day(tt22, 2023) == date(2024, 3, 31)
