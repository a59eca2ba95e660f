"""The deadlines of transfers: one thread shuts a socket down when its transfer runs too long.

A slow drip never trips a per-read stall timeout (a byte a second always arrives in time), so
each transfer also gets a total deadline; :data:`WATCHDOG` keeps every deadline of the process
in a heap, looked at by one thread, instead of a timer thread per file.

Examples
--------
>>> import socket
>>> a, b = socket.socketpair()
>>> cut = WATCHDOG.arm(a, 0.01)
>>> a.recv(1)  # the watchdog shuts the socket down: the blocked read returns
b''
>>> cut.is_set()
True
>>> a.close(); b.close()
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time

__all__ = ["TICK", "WATCHDOG", "Cutoff", "Watchdog"]

TICK = 0.25  # seconds between two looks of the watchdog at its deadlines


class Cutoff:
    """One armed deadline: the socket is shut down when it passes (a blocked read then
    returns); ``is_set()`` says whether it was.
    """

    def __init__(self, sock: socket.socket, at: float) -> None:
        self.sock, self.at = sock, at
        self.fired = self.cancelled = False

    def __lt__(self, other: Cutoff) -> bool:
        return self.at < other.at

    def is_set(self) -> bool:
        """True once the deadline passed and the socket was shut down."""
        return self.fired

    def cancel(self) -> None:
        """The transfer ended in time: forget the deadline."""
        self.cancelled = True


class Watchdog:
    """The deadlines of every transfer in the process, kept by one thread (started on first
    use): arming one is a heap push, not a thread of its own per file.
    """

    def __init__(self) -> None:
        self._heap: list[Cutoff] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, seconds: float) -> Cutoff:
        """Shut ``sock`` down ``seconds`` from now unless the returned cutoff is cancelled
        first (at most :data:`TICK` s late).
        """
        cut = Cutoff(sock, time.monotonic() + seconds)
        with self._cond:
            heapq.heappush(self._heap, cut)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="campfire-watchdog", daemon=True
                )
                self._thread.start()
            elif len(self._heap) == 1:  # it was waiting for work: wake it
                self._cond.notify()
        return cut

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                # with deadlines armed it looks again every TICK s rather than being woken
                # for each new earliest one (a wake-up per file is a GIL hand-over per file);
                # a transfer is cut off at most TICK s late
                wait = self._heap[0].at - time.monotonic() if self._heap else None
                if wait is None or wait > 0:
                    self._cond.wait(None if wait is None else min(wait, TICK))
                    continue
                cut = heapq.heappop(self._heap)
            cut.fired = True
            with contextlib.suppress(OSError):
                cut.sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()
