"""Reading answers the way people type them: counts, yes/no in Vietnamese, whole scores.

The same parser serves the chat and the answers files, so "31/32", "31 32" and "có" (typed on a
phone, possibly in decomposed Unicode) must mean the same everywhere, and a bare "90%" is refused.
"""

from __future__ import annotations

import unicodedata

import pytest

from rubric.answers import (
    AnswerError,
    Counts,
    NotApplicable,
    Score,
    YesNo,
    encode,
    leaf_specs,
    parse_answer,
    parse_counts,
    parse_score,
    parse_yes_no,
    to_plain,
)
from rubric.loader import kind
from rubric.model import Framework


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["31/32", "31 32", " 31 / 32 ", "31  /32", "31 trên 32", [31, 32]])
def test_counts_are_accepted_in_the_ways_people_type_them(raw: object) -> None:
    assert parse_counts("2.1", raw) == Counts(31, 32)


@pytest.mark.parametrize("raw", ["90%", "96,9%", "96.9 %", " 90 % "])
def test_a_percentage_is_refused_with_its_reason(raw: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_counts("2.1", raw)
    assert caught.value.reason == "percent_not_counts"
    assert caught.value.code == "2.1"
    message = caught.value.message()
    assert "2.1" in message
    assert "31/32" in message  # shows how to answer instead


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("33/32", "counts_above_total"),
        ("0/0", "counts_zero_total"),
        ("5/0", "counts_zero_total"),
        ("31", "counts_format"),
        ("31/32/33", "counts_format"),
        ("ba mươi mốt", "counts_format"),
        (31, "counts_format"),
        ([31.5, 32], "counts_format"),
        ([True, 32], "counts_format"),
    ],
)
def test_impossible_or_unreadable_counts_are_refused(raw: object, reason: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_counts("2.2", raw)
    assert caught.value.reason == reason
    assert "2.2" in caught.value.message()


def test_counts_above_total_says_both_numbers() -> None:
    with pytest.raises(AnswerError) as caught:
        parse_counts("2.2", "33/32")
    message = caught.value.message()
    assert "33" in message
    assert "32" in message


def test_zero_of_a_positive_total_is_a_valid_answer() -> None:
    assert parse_counts("2.4", "0/32") == Counts(0, 32)


# --- yes / no -------------------------------------------------------------------------------------


YES = [True, "true", "có", "Có", "CÓ", "đạt", "Đạt", "yes", " có "]
NO = [False, "false", "không", "Không", "không đạt", "Không Đạt", "no", "chưa đạt"]


@pytest.mark.parametrize("raw", YES)
def test_yes_words(raw: object) -> None:
    assert parse_yes_no("1.1", raw) == YesNo(True)


@pytest.mark.parametrize("raw", NO)
def test_no_words(raw: object) -> None:
    assert parse_yes_no("1.1", raw) == YesNo(False)


@pytest.mark.parametrize(
    ("raw", "met"), [("có", True), ("đạt", True), ("không", False), ("không đạt", False)]
)
def test_yes_no_typed_in_decomposed_unicode(raw: str, met: bool) -> None:
    decomposed = nfd(raw)
    assert decomposed != raw  # really a different string of code points
    assert parse_yes_no("3.3", decomposed) == YesNo(met)


@pytest.mark.parametrize("raw", ["maybe", "", 1, "31/32", None])
def test_other_yes_no_answers_are_refused(raw: object) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_yes_no("3.3", raw)
    assert caught.value.reason == "yes_no_format"
    assert "3.3" in caught.value.message()


# --- not applicable -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["na", "NA", "không áp dụng", nfd("Không áp dụng")])
def test_not_applicable_words_for_an_optional_chi_tieu(tt24: Framework, raw: str) -> None:
    spec = leaf_specs(tt24, kind("giao-duc-pho-thong"))["1.3"]
    assert parse_answer(spec, raw) == NotApplicable()


def test_na_is_refused_where_the_chi_tieu_binds(tt24: Framework) -> None:
    spec = leaf_specs(tt24, kind("co-quan"))["1.3"]
    with pytest.raises(AnswerError) as caught:
        parse_answer(spec, "na")
    assert caught.value.reason == "na_not_allowed"
    assert "1.3" in caught.value.message()


# --- scores ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "points"), [(0, 0), (7, 7), ("7", 7), (" 10 ", 10), (8.0, 8)])
def test_whole_scores_are_accepted(raw: object, points: int) -> None:
    assert parse_score("1a", raw, 10) == Score(points)


@pytest.mark.parametrize("raw", [7.5, "7.5", "7,5"])
def test_a_half_point_is_refused_as_not_whole(raw: object) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_score("1a", raw, 10)
    assert caught.value.reason == "score_not_whole"
    assert "1a" in caught.value.message()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (11, "score_out_of_range"),
        (-1, "score_out_of_range"),
        ("mười", "score_not_number"),
        (True, "score_not_number"),
    ],
)
def test_impossible_scores_are_refused(raw: object, reason: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_score("1a", raw, 10)
    assert caught.value.reason == reason


def test_an_item_of_3a_is_checked_against_its_own_maximum(tt22: Framework) -> None:
    specs = leaf_specs(tt22, kind("co-quan"))
    assert parse_answer(specs["3a8"], 4) == Score(4)
    with pytest.raises(AnswerError) as caught:
        parse_answer(specs["3a1"], 4)
    assert caught.value.reason == "score_out_of_range"
    message = caught.value.message()
    assert "3a1" in message
    assert "3" in message.replace("3a1", "")


# --- stored and printed forms round-trip ---------------------------------------------------------


@pytest.mark.parametrize(
    "answer", [Score(7), Counts(31, 32), YesNo(True), YesNo(False), NotApplicable()]
)
def test_encoded_answers_read_back_the_same(
    tt24: Framework, tt22: Framework, answer: object
) -> None:
    if isinstance(answer, Score):
        spec = leaf_specs(tt22, kind("co-quan"))["1a"]
    elif isinstance(answer, Counts):
        spec = leaf_specs(tt24, kind("co-quan"))["2.1"]
    else:
        spec = leaf_specs(tt24, kind("giao-duc-pho-thong"))["1.3"]
    assert parse_answer(spec, encode(answer)) == answer  # type: ignore[arg-type]
    assert parse_answer(spec, to_plain(answer)) == answer  # type: ignore[arg-type]


def test_a_score_typed_as_shown_back_is_accepted() -> None:
    from rubric.answers import parse_score

    assert parse_score("1a", "8/10", 10).points == 8
    assert parse_score("1a", "8 điểm", 10).points == 8
    with pytest.raises(AnswerError) as refused:
        parse_score("1a", "8/9", 10)
    assert refused.value.reason == "score_wrong_scale"
