"""What a screen handler works with while one event is handled inside one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from conversations import tokens
from conversations.events import Choice, ChoiceKind, Event, Reply
from conversations.modes import Mode
from conversations.settings import Settings
from rubric.answers import fold
from storage.base import Assessment, ChatState, Person, Transaction, Unit


@dataclass(frozen=True, slots=True)
class Option:
    """A choice before it gets its token: the label, the engine's value, its kind."""

    label: str
    value: str
    kind: ChoiceKind = ChoiceKind.OPTION
    typed: str | None = None


class Prompting(Protocol):
    """What moving to a screen needs of it: its question (`conversations.screen.Screen`)."""

    async def prompt(self, ctx: Ctx) -> Reply: ...


@dataclass
class Ctx:
    """One event's work: its transaction, who sent it, the chat's state, and the flow.

    `flow` is the table of `conversations.flow` (mode -> screen), handed in by the engine so
    that a screen can move the chat to any other screen without importing it. A Ctx built only
    to read (a benchmark, a tool) may leave it empty.
    """

    tx: Transaction
    event: Event
    person: Person
    chat: ChatState
    today: date
    settings: Settings
    flow: Mapping[Mode, Prompting] = field(default_factory=dict)

    async def unit(self) -> Unit | None:
        if self.chat.unit_id is None:
            return None
        return await self.tx.get_unit(self.chat.unit_id)

    async def role_in(self, unit_id: int | None) -> str | None:
        """The person's role in `unit_id` (None: not a member), read from the database."""
        for membership in await self.tx.memberships(self.person.id):
            if membership.unit_id == unit_id:
                return membership.role
        return None

    async def assessment(self) -> Assessment | None:
        """The assessment this chat works on (stored in the chat's state, checked by unit)."""
        assessment_id = self.chat.data.get("assessment_id")
        if not isinstance(assessment_id, int):
            return None
        assessment = await self.tx.get_assessment_by_id(assessment_id)
        if assessment is None or assessment.unit_id != self.chat.unit_id:
            return None
        return assessment

    def goto(self, mode: Mode, **data: object) -> None:
        """Move the chat to `mode`, keeping the unit's assessment and replacing the rest."""
        kept = {key: self.chat.data[key] for key in ("assessment_id",) if key in self.chat.data}
        self.chat.mode = mode.value  # stored as the plain string
        self.chat.data = {**kept, **data}

    def prompt(self, text: str, options: Sequence[Option] = ()) -> Reply:
        """A reply asking the current question, its choices tokenised with the chat's nonce.

        The nonce changes only when the question changes (mode and its data), so re-showing the
        same question after a typing mistake keeps the earlier buttons valid.
        """
        state = sorted((k, repr(v)) for k, v in self.chat.data.items() if not k.startswith("_"))
        key = f"{self.chat.mode}|{state!r}"
        if self.chat.data.get("_prompt_key") != key or not self.chat.nonce:
            self.chat.nonce = tokens.new_nonce()
            self.chat.data["_prompt_key"] = key
        choices = tuple(
            Choice(o.label, tokens.make(self.chat.nonce, o.value), o.kind, o.typed) for o in options
        )
        # What was shown, so typed text maps back to it without rendering the question again.
        self.chat.data["_shown"] = [
            [o.label, o.value, o.kind.value, o.typed]
            for o in options
            if o.kind is not ChoiceKind.SCORE
        ]
        self.chat.data["_scores"] = any(o.kind is ChoiceKind.SCORE for o in options)
        return Reply(text=text, choices=choices)

    def _numbered(self) -> list[str]:
        """The values of the word options on screen, in order: the nth is typed as n."""
        shown = self.chat.data.get("_shown") or []
        return [str(value) for _, value, kind, _ in shown if kind == ChoiceKind.OPTION.value]

    def shown_numbers(self) -> dict[str, int]:
        """The number each numbered choice on screen is typed as, by its value (see below)."""
        return {value: n for n, value in enumerate(self._numbered(), 1)}

    def shown_value(self, typed: str) -> str | None:
        """The value of the shown choice that `typed` names: its number or its words.

        A number picks from the numbered word options, never from scores: where the choices are
        scores the number typed is the score itself (the screen reads it as text).
        """
        if typed.isdecimal() and not self.chat.data.get("_scores"):
            options = self._numbered()
            return options[int(typed) - 1] if 1 <= int(typed) <= len(options) else None
        shown = self.chat.data.get("_shown") or []
        folded = fold(typed)
        for label, value, _, word in shown:
            # "Cấp xã (trước 01/7/2025: cấp huyện)" is also typed as its words before "("
            if folded in (fold(label), fold(label.split(" (")[0]), fold(word or "\0")):
                return str(value)
        return None
