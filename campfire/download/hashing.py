"""SHA-256 of downloaded bytes: of a file on disk, or of a transfer as its blocks are written.

Examples
--------
>>> import hashlib
>>> h = hashlib.sha256()
>>> hashing = Hashing(h, memoryview(bytearray(4)), threaded=True)
>>> buf = hashing.buffer()
>>> buf[:3] = b"abc"
>>> hashing.add(buf, 3)
>>> hashing.finish()
>>> h.hexdigest() == hashlib.sha256(b"abc").hexdigest()
True
"""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path
from typing import Any

__all__ = ["CHUNK", "Hashing", "sha256_file"]

CHUNK = 1024 * 1024


def sha256_file(path: Path, limit: int | None = None) -> Any:
    """The SHA-256 of a file (of its first ``limit`` bytes), read in 1 MiB blocks.

    Examples
    --------
    >>> sha256_file(Path("/dev/null")).hexdigest()[:8]
    'e3b0c442'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        remaining = limit
        while remaining is None or remaining > 0:
            block = fh.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not block:
                break
            h.update(block)
            if remaining is not None:
                remaining -= len(block)
    return h


class Hashing:
    """The SHA-256 of a transfer's bytes, computed as they are written.

    For a large file (``threaded``) a thread of its own hashes each block while the next one
    is received and written (hashlib, sockets and file writes all let go of the GIL), over a
    few rotating buffers of ``block`` bytes (default: the size of ``buf``); a small file is
    hashed in line, in ``buf``.
    """

    def __init__(self, h: Any, buf: memoryview, *, threaded: bool, block: int = 0) -> None:
        self.h, self._buf = h, buf
        self._thread: threading.Thread | None = None
        if threaded:
            self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
            for _ in range(4):
                self._free.put(memoryview(bytearray(block or len(buf))))
            self._work: queue.SimpleQueue[tuple[memoryview, int] | None] = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="campfire-sha256", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            buf, n = item
            self.h.update(buf[:n])
            self._free.put(buf)

    def buffer(self) -> memoryview:
        """A buffer to receive the next block into."""
        return self._buf if self._thread is None else self._free.get()

    def add(self, buf: memoryview, n: int) -> None:
        """The first ``n`` bytes of ``buf`` were written: hash them (the buffer is lent)."""
        if self._thread is None:
            self.h.update(buf[:n])
        else:
            self._work.put((buf, n))

    def finish(self) -> None:
        """Wait until every block handed over is hashed (idempotent)."""
        if self._thread is not None:
            self._work.put(None)
            self._thread.join()
            self._thread = None
