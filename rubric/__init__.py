"""Frameworks as data (YAML), the loader that validates them, and scoring as pure functions."""

from rubric.answers import Answer, AnswerError, Counts, NotApplicable, Score, YesNo
from rubric.loader import RubricError, UnknownFramework, framework_ids, kind, load_framework
from rubric.model import Applicability, Framework, Indicator, Kind
from rubric.scoring import PointsResult, RecognitionResult, Result, Status, evaluate

__all__ = [
    "Answer",
    "AnswerError",
    "Applicability",
    "Counts",
    "Framework",
    "Indicator",
    "Kind",
    "NotApplicable",
    "PointsResult",
    "RecognitionResult",
    "Result",
    "RubricError",
    "Score",
    "Status",
    "UnknownFramework",
    "YesNo",
    "evaluate",
    "framework_ids",
    "kind",
    "load_framework",
]
