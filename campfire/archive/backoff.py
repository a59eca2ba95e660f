"""The one retry loop: exponential backoff with jitter that honours ``Retry-After``.

Every request campfire sends to the archive — JSON routes and file downloads alike — is retried
by :meth:`RetryPolicy.run`, and by nothing else: an attempt that is worth repeating raises
:class:`Retryable`, which carries the error to raise once the attempts run out. Nothing retries
around this loop, so a failing server sees exactly ``retries + 1`` attempts.

Examples
--------
>>> waits = []
>>> policy = RetryPolicy(retries=2, backoff=1.0, jitter=0.0, sleep=waits.append)
>>> def attempt(n):
...     if n < 2:
...         raise Retryable(ValueError("busy"))
...     return "done"
>>> policy.run(attempt), waits
('done', [1.0, 2.0])
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["RetryPolicy", "Retryable", "parse_retry_after"]

T = TypeVar("T")


class Retryable(Exception):
    """Raised by an attempt that may succeed if repeated.

    Parameters
    ----------
    error
        What to raise when no attempt is left (a :class:`~campfire.errors.CampfireError`).
    retry_after
        The server's ``Retry-After`` in seconds, if it sent one.
    """

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How requests are retried: exponential backoff with jitter, honouring ``Retry-After``.

    Parameters
    ----------
    retries
        Retries after the first attempt (so ``retries + 1`` attempts in all).
    backoff
        The first delay in seconds; attempt ``n`` waits ``backoff * 2**n`` (capped).
    max_backoff
        Cap on one computed delay.
    jitter
        Each computed delay is stretched by a random fraction up to ``jitter``.
    max_retry_after
        A ``Retry-After`` longer than this is not waited for: the error is raised at once.
    sleep
        The function that waits (tests pass one that records the delays).

    Examples
    --------
    >>> RetryPolicy(backoff=1.0, jitter=0.0).delay(2)
    4.0
    >>> RetryPolicy().delay(0, retry_after=7.0)
    7.0
    """

    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        base = min(self.max_backoff, self.backoff * (2.0**attempt))
        return base * (1.0 + self.jitter * random.random())

    def run(self, attempt: Callable[[int], T], *, retries: int | None = None) -> T:
        """Call ``attempt(n)`` for n = 0, 1, ... until it returns, waiting between attempts.

        ``attempt`` raises :class:`Retryable` for a failure worth repeating; after the last
        attempt (``retries``, default :attr:`retries`), or when the server asks for a wait
        longer than :attr:`max_retry_after`, the :class:`Retryable`'s error is raised. Any
        other exception ends the loop at once.

        Examples
        --------
        >>> RetryPolicy(retries=0).run(lambda n: n + 1)
        1
        """
        limit = self.retries if retries is None else retries
        n = 0
        while True:
            try:
                return attempt(n)
            except Retryable as exc:
                wait = exc.retry_after
                if n >= limit or (wait is not None and wait > self.max_retry_after):
                    raise exc.error from exc.error.__cause__
                self.sleep(self.delay(n, wait))
                n += 1


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    Examples
    --------
    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after(None) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
