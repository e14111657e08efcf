"""Reading a mức độ 1 decision as staff type it: number and date, or the reason it is refused."""

from __future__ import annotations

from datetime import date

import pytest

from conversations.decision import DecisionError, parse_decision

TODAY = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("typed", "number", "day"),
    [
        ("125/QĐ-UBND ngày 20/01/2024", "125/QĐ-UBND", date(2024, 1, 20)),
        ("Quyết định số 45/QĐ-UBND, ngày 5 tháng 3 năm 2024", "45/QĐ-UBND", date(2024, 3, 5)),
        ("số 7/QĐ-SGDĐT 2024-02-29", "7/QĐ-SGDĐT", date(2024, 2, 29)),
        ("3056/QĐ-UBND ngày 10-1-2024 của UBND huyện", "3056/QĐ-UBND", date(2024, 1, 10)),
        ("ngày 10.01.2024 số 125/QĐ-UBND", "125/QĐ-UBND", date(2024, 1, 10)),
        ("Quyết định 07/2024/QĐ-SGDĐT ngày 05/03/2024", "07/2024/QĐ-SGDĐT", date(2024, 3, 5)),
        ("QD so 12/QD-UBND ngay 1/2/2025", "12/QD-UBND", date(2025, 2, 1)),
    ],
)
def test_a_decision_is_read_whichever_way_it_is_typed(typed: str, number: str, day: date) -> None:
    decision = parse_decision(typed, TODAY)
    assert (decision.number, decision.decided_on) == (number, day)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("125/QĐ-UBND", "no_date"),
        ("125/QĐ-UBND ngày 31/02/2024", "bad_date"),
        ("125/QĐ-UBND ngày 02/01/2026", "future"),
        ("125/QĐ-UBND ngày 02/01/2019", "too_old"),
        ("ngày 20/01/2024", "no_number"),
    ],
)
def test_a_wrong_decision_says_why(typed: str, code: str) -> None:
    with pytest.raises(DecisionError) as refused:
        parse_decision(typed, TODAY)
    assert refused.value.code == code
