"""The catalog's cross-process lock: ``meta/.lock``, held by a sync or a download.

:class:`ProcessLock` takes ``fcntl.flock`` on the file, is re-entrant within a thread and
exclusive across threads, and writes who holds it into the file, so a second process that
gives up can say which sync or download is running.

Examples
--------
>>> import tempfile, pathlib
>>> lock = ProcessLock.for_path(pathlib.Path(tempfile.mkdtemp()) / ".lock")
>>> lock.acquire(1.0, "doctest"); lock.release()
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from campfire.catalog.schema import utc_now
from campfire.errors import LockError

__all__ = ["ProcessLock"]


class ProcessLock:
    """``flock`` on a file, re-entrant within one thread, exclusive across threads.

    Examples
    --------
    >>> ProcessLock.for_path(Path("meta/.lock")).acquire(5.0, "campfire sync")  # doctest: +SKIP
    """

    _registry: ClassVar[dict[str, ProcessLock]] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rlock = threading.RLock()
        self.depth = 0
        self.fh: Any = None

    @classmethod
    def for_path(cls, path: Path) -> ProcessLock:
        """The one lock object of ``path`` in this process."""
        with cls._guard:
            return cls._registry.setdefault(str(path), cls(path))

    def acquire(self, wait: float, what: str) -> None:
        """Take the lock, waiting up to ``wait`` s; :class:`LockError` names the holder."""
        deadline = time.monotonic() + wait
        if not self.rlock.acquire(timeout=max(wait, 0.0)):
            raise LockError(self._busy_message(None))
        if self.depth == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")  # noqa: SIM115 - held until release()
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        fh.seek(0)
                        holder = fh.read().strip()
                        fh.close()
                        self.rlock.release()
                        raise LockError(self._busy_message(holder)) from None
                    time.sleep(0.05)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}: {what} since {utc_now()[:19]}\n")
            fh.flush()
            self.fh = fh
        self.depth += 1

    def release(self) -> None:
        """Give back one level of the lock (the file is unlocked at the outermost)."""
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None
        self.rlock.release()

    @staticmethod
    def _busy_message(holder: str | None) -> str:
        who = f" ({holder})" if holder else ""
        return (
            f"Another campfire sync or download is running{who}. "
            "Wait for it to finish, then try again."
        )
