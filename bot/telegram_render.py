"""How a reply reads on Telegram: text split at 4,096 characters, choices as an inline keyboard.

Pure functions from the engine's `Reply` to what the adapter sends, so the layout can be tested
without a bot. Button callback data is the engine's opaque token, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.textrender import split_text
from conversations.events import ChoiceKind, Reply
from templates.text import t

MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # 1024
SCORES_PER_ROW = 6
SHORT_LABEL = 14  # labels up to this length sit two to a row

Pair = tuple[str, str]  # a button's label and its callback data (the engine's token)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Telegram text message: its text and, on the last part of a reply, its keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def messages(reply: Reply, limit: int = MESSAGE_LIMIT) -> list[Outgoing]:
    """The messages of `reply`: its text in parts, the keyboard on the last part only."""
    parts = split_text(reply.text, limit) or ([t("telegram.choose")] if reply.choices else [])
    markup = keyboard(reply)
    return [Outgoing(part, markup if n == len(parts) - 1 else None) for n, part in enumerate(parts)]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Scores in rows of six, word choices one or two to a row, navigation last."""
    if not reply.choices:
        return None
    scores: list[Pair] = []
    options: list[Pair] = []
    actions: list[Pair] = []
    kinds = {ChoiceKind.SCORE: scores, ChoiceKind.OPTION: options, ChoiceKind.ACTION: actions}
    for choice in reply.choices:  # one pass: Reply.scores/options/actions would make three
        kinds[choice.kind].append((choice.label, choice.token))
    rows = _rows(scores, SCORES_PER_ROW)
    rows += _rows(options, 2 if all(len(label) <= SHORT_LABEL for label, _ in options) else 1)
    rows += _rows(actions, 3 if len(actions) > 4 else 2)
    return ChoiceKeyboard(rows)


def _rows(pairs: list[Pair], per_row: int) -> list[tuple[Pair, ...]]:
    return [tuple(pairs[i : i + per_row]) for i in range(0, len(pairs), per_row)]


Buttons = tuple[tuple[InlineKeyboardButton, ...], ...]


class ChoiceKeyboard(InlineKeyboardMarkup):
    """An inline keyboard of callback buttons, each a (label, callback data) pair.

    Every question carries one (a score question fifteen buttons), and PTB's generic path costs
    ~7 µs a button to build the `InlineKeyboardButton`s and as much again for `to_dict` to walk
    their attributes when the request is encoded. This one keeps the pairs and writes the Bot
    API's JSON from them directly, the same JSON: PTB encodes any `TelegramObject` parameter by
    its `to_dict()`. It is still a frozen `InlineKeyboardMarkup`: the buttons are built the first
    time `inline_keyboard` is read (never when only sending), and compare and hash as the same
    buttons in a plain markup would.
    """

    __slots__ = ("_buttons", "_pairs")

    def __init__(self, rows: Sequence[Sequence[Pair]]) -> None:
        super().__init__(())  # a frozen markup, its buttons (none yet) set through the setter
        self._pairs = tuple(tuple(row) for row in rows)
        self._buttons: Buttons | None = None  # built when first read

    @property
    def inline_keyboard(self) -> Buttons:
        """The buttons, as in `InlineKeyboardMarkup` (built when first read)."""
        if self._buttons is None:
            return self._set_buttons(
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in self._pairs
            )
        return self._buttons

    @inline_keyboard.setter
    def inline_keyboard(self, rows: Iterable[Sequence[InlineKeyboardButton]]) -> None:
        self._set_buttons(rows)  # only while unfrozen: InlineKeyboardMarkup.__init__, deepcopy

    def _set_buttons(self, rows: Iterable[Sequence[InlineKeyboardButton]]) -> Buttons:
        self._buttons = tuple(tuple(row) for row in rows)
        self._id_attrs = (self._buttons,)  # what InlineKeyboardMarkup compares and hashes
        return self._buttons

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        """The Bot API's `InlineKeyboardMarkup` object, as PTB's own `to_dict` would write it."""
        if self._buttons is not None or self.api_kwargs:
            return super().to_dict(recursive)
        return {
            "inline_keyboard": [
                [{"callback_data": data, "text": label} for label, data in row]
                for row in self._pairs
            ]
        }

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InlineKeyboardMarkup):
            return self.inline_keyboard == other.inline_keyboard
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((InlineKeyboardMarkup, (self.inline_keyboard,)))


def coalesce(replies: Sequence[Reply], limit: int = MESSAGE_LIMIT) -> list[Reply]:
    """Fold a bare confirmation ("✅ Đã lưu 1a: 8 điểm") into the question that follows it.

    One message reads better on a phone than two, and it is one Bot API call instead of two. A
    reply with buttons, files, a toast, or one meant to replace the pressed message stays alone.
    """
    merged: list[Reply] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and not (previous.choices or previous.files or previous.notice)
            and not (previous.replace_previous or reply.replace_previous)
            and len(previous.text) + 2 + len(reply.text) <= limit
        ):
            merged[-1] = replace(reply, text=f"{previous.text}\n\n{reply.text}")
        else:
            merged.append(reply)
    return merged


def caption_and_rest(caption: str) -> tuple[str, list[str]]:
    """A document's caption if it fits Telegram's 1,024 characters, else none and the text apart."""
    if len(caption) <= CAPTION_LIMIT:
        return caption, []
    return "", split_text(caption, MESSAGE_LIMIT)
