"""The engine's contract with every channel: an event in, replies out.

A channel adapter (bot/) turns its update into an `Event` and renders each `Reply` as messages,
buttons and files. Nothing here knows Telegram, Zalo or a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class EventKind(StrEnum):
    COMMAND = "command"  # "/danhgia 2024": payload is the command without the slash
    TEXT = "text"
    CHOICE = "choice"  # a button pressed: payload is the choice's opaque token
    FILE = "file"  # a photo or document: see Event.attachment


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A photo or document a person sent, as the channel identifies it."""

    kind: str  # "photo" | "document"
    file_ref: str  # the channel's file id or URL
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    chat_id: str
    sender: Sender
    kind: EventKind
    payload: str = ""
    update_id: str | None = None  # the channel's id for de-duplication of redeliveries
    file: IncomingFile | None = None


class ChoiceKind(StrEnum):
    OPTION = "option"  # a word choice: text channels number these "1) …"
    SCORE = "score"  # a score 0..max: text channels say "Nhập điểm từ 0 đến max"
    ACTION = "action"  # navigation (back, skip, review…): text channels list the word to type


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    token: str  # opaque, short (≤ 64 bytes), checked by the engine against the chat's state
    kind: ChoiceKind = ChoiceKind.OPTION
    typed: str | None = None  # for actions: the word a text channel user types instead


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    path: Path
    name: str
    caption: str = ""
    document: str | None = None  # its copy in the store (any process can send or serve it)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    files: tuple[OutgoingFile, ...] = ()
    replace_previous: bool = False  # edit the previous question message where the channel can
    # With replace_previous: the text is added under the pressed message's own text (the
    # question keeps its words with the answer chosen), rather than replacing it.
    amend: bool = False
    # A pressed button of a question no longer current: this reply says so, and the question
    # after it is the current one again. A channel that can tell the current question is still
    # the last message on screen may give the toast (`notice`) alone.
    stale: bool = False
    notice: str | None = None  # a short toast for a pressed button (Telegram answerCallbackQuery)
    # Whether a text channel lists the command words under the reply ("Lệnh: “quay lại” …"):
    # shown where it helps (the first questions, after a wrong input, on request), not on every
    # message of a phone's screen. The words are accepted whether listed or not.
    show_commands: bool = True
    # The reply asks for a text that may have several lines: the console then reads lines up to
    # an empty line (one Enter does not end it).
    multiline: bool = False

    @property
    def options(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.kind is ChoiceKind.OPTION)

    @property
    def scores(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.kind is ChoiceKind.SCORE)

    @property
    def actions(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.kind is ChoiceKind.ACTION)


def replies_to_json(replies: Sequence[Reply]) -> dict[str, Any]:
    """Replies as plain JSON, to be kept in the outbox until a channel sends them."""
    return {
        "replies": [
            {
                "text": reply.text,
                "choices": [[c.label, c.token, c.kind.value, c.typed] for c in reply.choices],
                "files": [[str(f.path), f.name, f.caption, f.document] for f in reply.files],
            }
            for reply in replies
        ]
    }


def replies_from_json(payload: Mapping[str, Any]) -> list[Reply]:
    """The replies `replies_to_json` wrote."""
    return [
        Reply(
            text=str(item["text"]),
            choices=tuple(
                Choice(str(label), str(token), ChoiceKind(kind), typed)
                for label, token, kind, typed in item.get("choices", [])
            ),
            files=tuple(
                OutgoingFile(Path(path), str(name), str(caption), *document)
                for path, name, caption, *document in item.get("files", [])
            ),
        )
        for item in payload.get("replies", [])
    ]
