"""Answers the server keeps until the catalog changes: the sync feeds' totals and empty pages,
``/sync/lists``, and ``/metadata``'s value lists.

A no-op incremental sync asks for the same counts every time (``total_accessible_count`` walks a
whole index), the same list memberships and the same ``DISTINCT`` scans; they change only when
the catalog does. Each answer is kept under the catalog generation read *before* computing it
(:meth:`Database.generation <campfire.server.storage.database.Database.generation>`, a number
in the database that every catalog write moves in its own transaction), so every server process
on the same database agrees on when a kept answer is stale. An answer computed while a write
commits is kept under the older generation and simply recomputed on the next request.

Examples
--------
>>> kept = KeptAnswers(size=2)
>>> kept.get(1, ("count", "objects"), lambda: 42)
42
>>> kept.get(1, ("count", "objects"), lambda: 0)  # same generation: the kept answer
42
>>> kept.get(2, ("count", "objects"), lambda: 43)  # the catalog changed: computed again
43
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["KeptAnswers"]

_T = TypeVar("_T")


class KeptAnswers:
    """The last ``size`` answers, each with the catalog generation it was computed at.

    Parameters
    ----------
    size
        How many answers to keep (least recently used dropped first).
    chars
        At most this many characters of text answers (``/sync/lists`` can be large) in all.
    """

    def __init__(self, size: int = 1024, chars: int = 32_000_000) -> None:
        self._lock = threading.Lock()
        self._data: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._size, self._chars, self._held = size, chars, 0

    def get(self, generation: int, key: Hashable, compute: Callable[[], _T]) -> _T:
        """The answer kept for ``key`` at ``generation``, else ``compute()`` (then kept).

        Examples
        --------
        >>> KeptAnswers().get(0, "k", lambda: [1, 2])
        [1, 2]
        """
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] == generation:
                self._data.move_to_end(key)
                return hit[1]  # type: ignore[return-value]
        value = compute()
        self.put(generation, key, value)
        return value

    def put(self, generation: int, key: Hashable, value: object) -> None:
        """Keep ``value`` for ``key`` as computed at ``generation``."""
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._held -= _chars(old[1])
            self._data[key] = (generation, value)
            self._held += _chars(value)
            while len(self._data) > self._size or (self._held > self._chars and self._data):
                self._held -= _chars(self._data.popitem(last=False)[1][1])

    def peek(self, generation: int, key: Hashable) -> object | None:
        """The answer kept for ``key`` at ``generation``, or None (nothing computed)."""
        with self._lock:
            hit = self._data.get(key)
            return hit[1] if hit is not None and hit[0] == generation else None


def _chars(value: object) -> int:
    return len(value) if isinstance(value, str) else 0
