"""Frameworks as data (YAML), the loader that validates them, and scoring as pure functions."""

from rubric.answers import Answer, AnswerError, Counts, NotApplicable, Score, YesNo
from rubric.dates import deadline_for, last_filing_day
from rubric.levels import Level2Eligibility, LevelsResult, judge_levels, level2_eligibility
from rubric.loader import RubricError, UnknownFramework, framework_ids, kind, load_framework
from rubric.model import Applicability, Framework, Indicator, Kind
from rubric.scoring import PointsResult, RecognitionResult, Result, Shortfall, Status, evaluate

__all__ = [
    "Answer",
    "AnswerError",
    "Applicability",
    "Counts",
    "Framework",
    "Indicator",
    "Kind",
    "Level2Eligibility",
    "LevelsResult",
    "NotApplicable",
    "PointsResult",
    "RecognitionResult",
    "Result",
    "RubricError",
    "Score",
    "Shortfall",
    "Status",
    "UnknownFramework",
    "YesNo",
    "deadline_for",
    "evaluate",
    "framework_ids",
    "judge_levels",
    "kind",
    "last_filing_day",
    "level2_eligibility",
    "load_framework",
]
