"""How a reply reads on a text-only channel (the console, Zalo): one shared rendering.

Word choices become a numbered list ("1) …", answered by number or label); score choices become
"Nhập điểm từ 0 đến 10" so that a typed number is always the score itself; navigation actions are
listed as the words to type. The engine maps whatever is typed back to the choice.
"""

from __future__ import annotations

from conversations.events import Reply
from templates.text import t


def render_text(reply: Reply) -> str:
    parts = [reply.text]
    if reply.scores:
        values = sorted(int(choice.label) for choice in reply.scores)
        parts.append(t("render.score_range", low=values[0], high=values[-1]))
    if reply.options:
        parts.append("\n".join(f"{n}) {choice.label}" for n, choice in enumerate(reply.options, 1)))
    if reply.actions:
        words = " · ".join(f"“{choice.typed}”" for choice in reply.actions if choice.typed)
        parts.append(t("render.actions", words=words))
    for file in reply.files:
        parts.append(t("render.file", name=file.name, path=str(file.path)))
    return "\n".join(part for part in parts if part)
