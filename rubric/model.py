"""The shape of a framework file, as strict pydantic models.

A framework (Thông tư 22/2020, Thông tư 24/2023, a province's variant) is data: these models say
what a file may contain and nothing more (unknown keys are errors), so a typo in a clerk's copy is
caught at load time instead of silently changing a score. Cross-field rules (maxima that add up,
duplicate codes, known unit kinds) live in `rubric.loader`, which reports every problem at once.
"""

from __future__ import annotations

import calendar
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

LevelNumber = Annotated[int, Field(ge=1, le=2)]
"""A mức độ công nhận: Thông tư 24/2023 has mức độ 1 and mức độ 2."""


class _Strict(BaseModel):
    """Frozen, and unknown keys are errors: a misspelt key must never be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerKind(StrEnum):
    """How an indicator is answered."""

    SCORE = "score"  # a whole score 0..max (points frameworks)
    COUNTS = "counts"  # "achieved of total" compared with a percentage threshold
    YES_NO = "yes_no"  # đạt / không đạt


class Applicability(StrEnum):
    """Whether an indicator binds a unit of a given kind."""

    REQUIRED = "required"
    OPTIONAL = "optional"  # the unit itself says (e.g. a school that may be public or private)
    NOT_APPLICABLE = "not_applicable"


class Kind(_Strict):
    """A kind of unit (loại đơn vị), with the groups it belongs to (e.g. cơ sở giáo dục)."""

    id: str
    label: str
    groups: list[str] = Field(default_factory=list)

    def matches(self, names: list[str]) -> bool:
        """True when `names` lists this kind's id or one of its groups."""
        return self.id in names or any(group in names for group in self.groups)


class KindCatalogue(_Strict):
    kinds: list[Kind] = Field(min_length=1)


class Item(_Strict):
    """One scored item of a composite indicator (the 8 items of 3a)."""

    code: str
    text: str
    max: int = Field(ge=1)
    guidance: str = ""


class Variant(_Strict):
    """Wording or threshold that replaces the default for some kinds of unit."""

    kinds: list[str] = Field(min_length=1)
    text: str | None = None
    threshold: Decimal | None = Field(default=None, ge=0, le=100)
    subject: str | None = None
    achieving: str | None = None
    guidance: str | None = None

    def update(self) -> dict[str, object]:
        """What this variant replaces in the indicator (the fields it writes)."""
        written = self.model_dump(exclude={"kinds"})
        return {key: value for key, value in written.items() if value is not None}


class LevelChange(_Strict):
    """What a chỉ tiêu says differently at a higher mức độ (its `levels:` entry for that level).

    Every key written replaces the mức độ 1 value whole (a `variants` list replaces the list);
    a key left out keeps it. `applies_to: null` written out means "every kind of unit".
    """

    text: str | None = None
    threshold: Decimal | None = Field(default=None, ge=0, le=100)
    subject: str | None = None
    achieving: str | None = None
    guidance: str | None = None
    applies_to: list[str] | None = None
    optional_for: list[str] | None = None
    not_for: list[str] | None = None
    variants: list[Variant] | None = None

    def update(self) -> dict[str, object]:
        """The keys written, as an update of the lower level's indicator (a list written as
        null is empty; the loader refuses null for the keys that cannot be empty)."""
        update = {key: getattr(self, key) for key in self.model_fields_set}
        for key in ("optional_for", "not_for", "variants"):
            if key in update and update[key] is None:
                update[key] = []
        return update


NOT_NULL_AT_LEVEL = ("text", "subject", "guidance")
"""Keys a level change may not write as null: every chỉ tiêu has words at every level."""


class Indicator(_Strict):
    """A tiêu chí's indicator (TT 22) or chỉ tiêu (TT 24): the unit answers one per question.

    The fields describe the lowest mức độ; `levels` says what changes at a higher one, so the
    two levels of the circular stay in one file and one set of answers serves both.
    """

    code: str
    text: str
    answer: AnswerKind
    guidance: str = ""
    max: int | None = Field(default=None, ge=1)
    threshold: Decimal | None = Field(default=None, ge=0, le=100)
    subject: str = "thành viên"
    achieving: str | None = None  # what a counted person did, for "cần thêm 2 thành viên …"
    items: list[Item] = Field(default_factory=list)
    applies_to: list[str] | None = None
    optional_for: list[str] = Field(default_factory=list)
    not_for: list[str] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)
    levels: dict[LevelNumber, LevelChange] = Field(default_factory=dict)

    def at_level(self, level: int) -> Indicator:
        """This chỉ tiêu as it reads at mức độ `level`: the changes of every level up to it."""
        indicator = self
        for number in sorted(n for n in self.levels if n <= level):
            indicator = indicator.model_copy(update=self.levels[number].update())
        return indicator

    def applicability(self, kind: Kind) -> Applicability:
        """Whether this indicator binds a unit of `kind` (scope written into the chỉ tiêu)."""
        if kind.matches(self.not_for):
            return Applicability.NOT_APPLICABLE
        if kind.matches(self.optional_for):
            return Applicability.OPTIONAL
        if self.applies_to is None or kind.matches(self.applies_to):
            return Applicability.REQUIRED
        return Applicability.NOT_APPLICABLE

    def for_kind(self, kind: Kind) -> Indicator:
        """This indicator with the first matching variant's wording and threshold applied."""
        for variant in self.variants:
            if kind.matches(variant.kinds):
                return self.model_copy(update=variant.update())
        return self


class Criterion(_Strict):
    """A tiêu chí: a titled group of indicators (with a maximum in points frameworks)."""

    code: str
    title: str
    max: int | None = Field(default=None, ge=1)
    indicators: list[Indicator] = Field(min_length=1)


class Band(_Strict):
    """A classification band: the label applies from `min` points up to the next band."""

    label: str
    min: int = Field(ge=0)


class Years(_Strict):
    first: int = Field(ge=2000, le=2100)
    last: int | None = Field(default=None, ge=2000, le=2100)

    def __contains__(self, year: object) -> bool:
        return isinstance(year, int) and self.first <= year <= (self.last or 9999)


class Due(_Strict):
    """The filing deadline of a year's hồ sơ as a date a program can compute with (reminders).

    `before` is true when the circular says "trước ngày …" (TT 24/2023: trước ngày 15/01 năm
    sau), so the last day to file is the day before; false when the day itself counts.
    """

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    next_year: bool
    before: bool

    def exists(self) -> bool:
        """True when the day exists in every year (31/4 never does; 29/02 not every year)."""
        return self.day <= calendar.monthrange(2023, self.month)[1]  # 2023: not a leap year


class ReportInfo(_Strict):
    """What the report needs from the framework: the trích yếu and the filing deadline."""

    subject: str  # "{year}" is replaced by the assessment year
    deadline: str  # the deadline as people read it ("trước ngày 15/01 năm sau")
    due: Due  # the same deadline, for programs


class Framework(_Strict):
    """One framework file: its identity, legal basis, years, criteria and result rule."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    method: Literal["points", "recognition"]
    title: str
    short_title: str
    legal_basis: str
    years: Years
    report: ReportInfo
    max_total: int | None = Field(default=None, ge=1)
    classification: list[Band] = Field(default_factory=list)
    unit_level: Literal["cap-huyen", "cap-tinh"] | None = None
    levels: list[LevelNumber] = Field(default_factory=list)  # mức độ described (recognition)
    criteria: list[Criterion] = Field(min_length=1)

    _by_code: dict[str, Indicator] = PrivateAttr(default_factory=dict)
    _criterion_of: dict[str, Criterion] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        for criterion in self.criteria:
            for indicator in criterion.indicators:
                self._by_code[indicator.code] = indicator
                self._criterion_of[indicator.code] = criterion

    @property
    def indicators(self) -> list[Indicator]:
        """Every indicator, in questionnaire order."""
        return list(self._by_code.values())

    def indicator(self, code: str) -> Indicator:
        return self._by_code[code]

    def criterion_of(self, code: str) -> Criterion:
        return self._criterion_of[code]

    def leaf_codes(self) -> list[str]:
        """The codes a unit answers: indicators, or the items of a composite indicator."""
        codes: list[str] = []
        for indicator in self.indicators:
            codes.extend([item.code for item in indicator.items] or [indicator.code])
        return codes

    def classify(self, total: int) -> str:
        """The band of `total` points (bands are checked to be descending at load time)."""
        for band in self.classification:
            if total >= band.min:
                return band.label
        return self.classification[-1].label
