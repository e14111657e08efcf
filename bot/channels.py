"""What every chat channel offers besides answering: sending to a chat on its own initiative.

The outbox (leaders' summaries, approvals, reminders) is delivered through this one method, so
it knows no channel: Telegram, Zalo and any later channel implement `send`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from conversations.events import Reply


class Channel(Protocol):
    """A channel able to send replies to a chat that did not just write."""

    name: str

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send `replies` in order; raise if any part could not be sent."""
