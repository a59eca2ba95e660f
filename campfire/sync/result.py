"""Result objects of a sync and a download: dataclasses that also read as mappings.

Both :class:`SyncResult` and :class:`~campfire.download.run.DownloadResult` are dataclasses
(attributes, a typed constructor) built on :class:`ResultMapping`, so the documented
dict-style access keeps working: ``result["objects"]``, ``"stale_count" in result``,
``dict(result)``, ``result.items()``. Purge counts are named ``<feed>_purged`` throughout.

Examples
--------
>>> r = SyncResult(observations=8, objects=2450, spectra=7200, stale_count=0)
>>> r["objects"], r.objects, r["spectra_purged"]
(2450, 2450, 0)
>>> r == dict(r)
True
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ResultMapping", "SyncResult"]


class ResultMapping(Mapping[str, Any]):
    """Read-only mapping view of a result dataclass: its keys are :meth:`_keys`.

    Examples
    --------
    >>> sorted(SyncResult())[:2]
    ['catalog_rebuilt', 'catalog_version']
    """

    def _keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


@dataclass(eq=False)
class SyncResult(ResultMapping):
    """What a sync did: local totals, per-feed change and purge counts, and file checks.

    Attributes
    ----------
    observations, objects, spectra, photometry, tags
        Local totals after the sync (active objects only).
    objects_updated, spectra_updated, photometry_updated
        Rows the sync changed.
    objects_purged, spectra_purged, photometry_purged
        Rows removed because the archive no longer sends them.
    orphaned_files
        Downloaded files of removed spectra (left in place).
    stale_count, stale_files
        Downloaded files the archive has replaced since.
    missing_files
        Downloaded files missing or changed on disk (forgotten, fetched again next download).
    incremental, needs_full_sync, full_sync_reason
        Whether the sync read only changes, and why it read everything if it had to.
    catalog_version
        The catalog's change counter after the sync.
    catalog_rebuilt
        Why an incompatible local catalog was replaced by a fresh one, or None.
    pushed, push_error
        Writes from the outbox the archive applied before the pull, and why some had to
        wait (the archive busy or unreachable), or None.
    outbox_pending
        Writes still waiting to be sent.
    conflicts, rejected
        Writes in conflict (someone changed the record first: both values, who and when) or
        refused by the archive, as dicts; see ``docs/inspecting.md`` to resolve them.

    Examples
    --------
    >>> SyncResult(objects=3)["objects"]
    3
    """

    observations: int = 0
    objects: int = 0
    spectra: int = 0
    photometry: int = 0
    tags: int = 0
    objects_updated: int = 0
    spectra_updated: int = 0
    photometry_updated: int = 0
    objects_purged: int = 0
    spectra_purged: int = 0
    photometry_purged: int = 0
    orphaned_files: list[str] = field(default_factory=list)
    stale_count: int = 0
    stale_files: list[str] = field(default_factory=list)
    missing_files: int = 0
    incremental: bool = False
    needs_full_sync: bool = False
    full_sync_reason: str | None = None
    catalog_version: int = 0
    catalog_rebuilt: str | None = None
    pushed: int = 0
    push_error: str | None = None
    outbox_pending: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:
        return repr(dict(self))

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td>{html.escape(str(v if not isinstance(v, list) else len(v)))}</td></tr>"
            for k, v in self.items()
        )
        return f"<table><caption>campfire sync</caption>{rows}</table>"
