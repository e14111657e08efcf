"""How a reply reads on Telegram: text split at 4,096 characters, choices as an inline keyboard.

Pure functions from the engine's `Reply` to what the adapter sends, so the layout can be tested
without a bot. Button callback data is the engine's opaque token, unchanged.

The keyboard is built as the Bot API's JSON for `reply_markup` (the shape of PTB's
`InlineKeyboardMarkup.to_dict()`), not as PTB's objects: a question's keyboard is built anew
for every turn, and building 14 `InlineKeyboardButton`s and encoding them back took a quarter
of a turn's CPU in `bench.turns` (py-spy); as JSON it is a few microseconds. The adapter sends
it as the documented `api_kwargs` of PTB's methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from telegram.constants import MessageLimit

from bot.textrender import split_text
from conversations.events import ChoiceKind, Reply
from templates.text import t

MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # 1024
SCORES_PER_ROW = 6
SHORT_LABEL = 14  # labels up to this length sit two to a row

Pair = tuple[str, str]  # a button's label and its callback data (the engine's token)
Button = dict[str, str]  # {"text": …, "callback_data": …}
Keyboard = dict[str, list[list[Button]]]  # {"inline_keyboard": rows of buttons}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Telegram text message: its text and, on the last part of a reply, its keyboard."""

    text: str
    keyboard: Keyboard | None = None


def messages(reply: Reply, limit: int = MESSAGE_LIMIT) -> list[Outgoing]:
    """The messages of `reply`: its text in parts, the keyboard on the last part only."""
    parts = split_text(reply.text, limit) or ([t("telegram.choose")] if reply.choices else [])
    markup = keyboard(reply)
    return [Outgoing(part, markup if n == len(parts) - 1 else None) for n, part in enumerate(parts)]


def keyboard(reply: Reply) -> Keyboard | None:
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
    return {"inline_keyboard": rows}


def _rows(pairs: list[Pair], per_row: int) -> list[list[Button]]:
    """`pairs` as callback buttons, `per_row` to a row."""
    return [
        [{"text": label, "callback_data": data} for label, data in pairs[i : i + per_row]]
        for i in range(0, len(pairs), per_row)
    ]


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
