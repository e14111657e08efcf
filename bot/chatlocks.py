"""One chat's updates one at a time, in the order they arrived; other chats run meanwhile.

Both channels need it: a person who taps or types twice quickly must see the answers applied in
that order, while one unit's report being rendered must not hold up everybody else. A lock lives
only while someone holds or awaits it, so the table does not grow with the number of chats.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class ChatLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, chat: Hashable) -> AsyncIterator[None]:
        """Wait for the chat's turn (first come, first served), then run the block."""
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._users[chat] = self._users.get(chat, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat] -= 1
            if not self._users[chat]:
                del self._users[chat], self._locks[chat]

    def __len__(self) -> int:
        return len(self._locks)
