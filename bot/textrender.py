"""How a reply reads on a text-only channel (the console, Zalo): one shared rendering.

Word choices become a numbered list ("1) …", answered by number or label); score choices become
"Nhập điểm từ 0 đến 10" so that a typed number is always the score itself; navigation actions are
listed as the words to type. The engine maps whatever is typed back to the choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from conversations.events import OutgoingFile, Reply
from templates.text import t

FileText = Callable[[OutgoingFile], str]


def file_path_text(file: OutgoingFile) -> str:
    """The console's line for a file: where it was written on this machine."""
    return t("render.file", name=file.name, path=str(file.path))


def render_text(reply: Reply, file_text: FileText = file_path_text) -> str:
    """`reply` as one text; `file_text` says how a channel without files points to each file.

    The console prints the file's path; Zalo, which cannot send documents, gives a download link.
    """
    parts = [reply.text]
    if reply.scores:
        values = sorted(int(choice.label) for choice in reply.scores)
        parts.append(t("render.score_range", low=values[0], high=values[-1]))
    if reply.options:
        parts.append("\n".join(f"{n}) {choice.label}" for n, choice in enumerate(reply.options, 1)))
        parts.append(t("render.options_hint", numbers=list(range(1, len(reply.options) + 1))))
    if reply.actions and reply.show_commands:
        words = " · ".join(f"“{choice.typed}”" for choice in reply.actions if choice.typed)
        parts.append(t("render.actions", words=words))
    parts.extend(file_text(file) for file in reply.files)
    return "\n".join(part for part in parts if part)


def split_text(text: str, limit: int) -> list[str]:
    """`text` as messages of at most `limit` characters, cut where a reader expects a break.

    Paragraphs are kept whole when they fit; a longer paragraph is cut at line ends, then at
    spaces, and only a single word longer than `limit` is cut mid-word. Nothing is dropped.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    for piece in _pieces(text.strip(), limit, ("\n\n", "\n", " ")):
        if chunks and len(chunks[-1]) + len(piece.sep) + len(piece.text) <= limit:
            chunks[-1] += piece.sep + piece.text
        else:
            chunks.append(piece.text)
    return [chunk for chunk in chunks if chunk.strip()]


class _Piece(NamedTuple):
    sep: str  # the separator that joined this piece to the previous one
    text: str


def _pieces(text: str, limit: int, separators: tuple[str, ...]) -> list[_Piece]:
    """`text` cut at the coarsest separator that makes every piece fit in `limit`."""
    if len(text) <= limit:
        return [_Piece("", text)]
    if not separators:
        return [_Piece("", text[i : i + limit]) for i in range(0, len(text), limit)]
    sep, finer = separators[0], separators[1:]
    pieces: list[_Piece] = []
    for n, part in enumerate(text.split(sep)):
        sub = _pieces(part, limit, finer)
        if sub and n:
            sub[0] = _Piece(sep, sub[0].text)
        pieces.extend(sub)
    return pieces
