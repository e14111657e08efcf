"""What every chat channel offers besides answering updates: sending to a chat on its own.

Messages to other chats (a leader's summary, a reminder) are not answers to an incoming update,
so whatever drains the outbox needs a way to reach a chat of any channel by its id. Each channel
implements this protocol; the sender picks the one whose `name` is the chat's channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from conversations.events import Reply


class Channel(Protocol):
    """A running channel that can deliver replies to one of its chats."""

    name: str  # the `Event.channel` of its chats: "telegram", "zalo"

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Deliver `replies` in order; raises when the channel could not deliver them."""
        ...
