"""Bounded memos for the pure steps that whole-Hub runs repeat with the same inputs.

Cards, licence files and file lists recur across thousands of repos (templates, one
organisation's releases), so the card load, the licence terms, the metadata facts and each
rule's finding are remembered per distinct input. Every memo holds only values its users
never change, is bounded, and empties itself when full (cheaper than tracking use, and a dump
that stops repeating itself loses nothing but the time to fill it again).
"""

from __future__ import annotations

import weakref
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

_EVERY: weakref.WeakSet[Memo[object, object]] = weakref.WeakSet()


class Memo(dict[K, V]):
    """A dict (``get`` stays a C call) that holds at most ``limit`` entries."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        _EVERY.add(self)  # type: ignore[arg-type]

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key`` (emptying the memo first when full); returns it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value

    # A dict subclass compares by content; a memo is one object.
    __hash__ = object.__hash__  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return self is other


def clear_all() -> None:
    """Forget everything every memo holds (tests compare the first, unremembered run)."""
    for memo in list(_EVERY):
        memo.clear()
