"""Rows the repository has read or written, kept between transactions (bounded, least recently
used dropped first).

Every turn of a chat reads the same few rows: the person, their memberships, the unit, the
assessment and its answers. Decoding them again each turn cost more than the rest of the turn's
SQL. The repository keeps them here while no other connection changes the database file
(SQLite's `PRAGMA data_version` says when one did: then everything is dropped), and every
write of this process updates or drops what it changes. A transaction rolled back drops all.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from storage.base import AnswerRecord, Assessment, ChatState, Membership, Person, Unit

K = TypeVar("K")
V = TypeVar("V")

ROWS_KEPT = 1024  # per kind of row: the chats active at once, with room to spare


class Lru(Generic[K, V]):
    """A mapping that keeps the `size` most recently used keys."""

    def __init__(self, size: int = ROWS_KEPT) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def __getitem__(self, key: K) -> V:
        self._items.move_to_end(key)
        return self._items[key]

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self[key] if key in self._items else None

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class RowCache:
    """The kinds of rows a turn reads, by their keys."""

    def __init__(self, size: int = ROWS_KEPT) -> None:
        self.people: Lru[tuple[str, str], Person] = Lru(size)
        self.memberships: Lru[int, list[Membership]] = Lru(size)
        self.units: Lru[int, Unit | None] = Lru(size)
        self.assessments: Lru[int, Assessment | None] = Lru(size)
        self.answers: Lru[int, dict[str, AnswerRecord]] = Lru(size)
        # A chat's state as last saved: the engine changes it during a turn and saves it at the
        # end; a turn that fails is rolled back, and that clears everything.
        self.chats: Lru[tuple[str, str], ChatState] = Lru(size)

    def clear(self) -> None:
        for kept in (
            self.people,
            self.memberships,
            self.units,
            self.assessments,
            self.answers,
            self.chats,
        ):
            kept.clear()
