"""The Explorer's decoded spectra: the last few objects' and their table neighbours', kept.

Reading a downloaded FITS file is most of a click's time (astropy opens it, the columns are
decoded and checked). While an astronomer looks at one object, the Explorer's worker reads the
spectra of the rows just below and above it (:meth:`SpectrumCache.prefetch`), so the next
click, or Enter in queue mode, finds them decoded; then the 1D alone (:func:`open_1d`, a few
ms a file) of every row on the visible page, into a second cache, so a click anywhere on the
page draws its spectra at once (the 2D strips follow). Only files already on disk are read
ahead; a cache holds at most ``keep`` spectra (:data:`KEEP` by default), the least recently
used going first.

Examples
--------
>>> cache = SpectrumCache(keep=2)
>>> cache.put("s1", "data-1"); cache.put("s2", "data-2"); cache.put("s3", "data-3")
>>> cache.get("s1"), cache.get("s3")
(None, 'data-3')
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from campfire.client import Campfire

__all__ = ["KEEP", "SpectrumCache", "open_1d"]

#: Spectra kept decoded (a few objects' worth: PRISM plus gratings).
KEEP = 48
log = logging.getLogger(__name__)


def open_1d(cf: Campfire, spectrum_id: str) -> Any:
    """A downloaded spectrum's 1D data alone (headers and table read directly, several times
    faster than the full file with its 2D products), or None when it is not on disk.

    Examples
    --------
    >>> open_1d(cf, "ember_uds_p4_prism_clear_123456").extras  # doctest: +SKIP
    {}
    """
    from campfire.io.fits import read_spectrum

    row = cf.reader.spectrum_to_open(spectrum_id)
    path = None if row is None else cf.downloads.local_file(row)
    if row is None or path is None:
        return None
    spec = read_spectrum(path, spectrum_id=spectrum_id, products="1d")
    spec.object_id = spec.object_id or row.get("object_id")
    if spec.redshift is None and row.get("_redshift") is not None:
        spec.redshift = row["_redshift"]
    return spec


class SpectrumCache:
    """A bounded, thread-safe map of spectrum id to decoded SpectrumData."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spectrum_id: str) -> Any:
        """The decoded spectrum, or None (and it becomes the most recently used)."""
        with self._lock:
            data = self._items.get(spectrum_id)
            if data is not None:
                self._items.move_to_end(spectrum_id)
            return data

    def put(self, spectrum_id: str, data: Any) -> None:
        """Keep ``data``, dropping the least recently used beyond :attr:`keep`."""
        with self._lock:
            self._items[spectrum_id] = data
            self._items.move_to_end(spectrum_id)
            while len(self._items) > self.keep:
                self._items.popitem(last=False)

    def open(self, cf: Campfire, spectrum_id: str) -> Any:
        """The spectrum from the cache, else opened by the client (and kept)."""
        data = self.get(spectrum_id)
        if data is None:
            data = cf.open_spectrum(spectrum_id)
            self.put(spectrum_id, data)
        return data

    def prefetch(
        self,
        cf: Campfire,
        object_ids: Iterable[str],
        still_wanted: Callable[[], bool],
        read: Callable[[Campfire, str], Any] | None = None,
    ) -> int:
        """Read the downloaded spectra of ``object_ids`` not kept yet, while ``still_wanted()``;
        return how many were read. A file that fails is left for the click to report.

        ``read(cf, spectrum_id)`` reads one (default: ``cf.open_spectrum``, the full file;
        :func:`open_1d` for the 1D alone).
        """
        read = read or (lambda c, sid: c.open_spectrum(sid))
        done = 0
        for oid in object_ids:
            try:
                obj = cf.get_object(oid)
                spectra = [s for s in obj.spectra if s.downloaded] if obj is not None else []
            except Exception:  # a row gone since: nothing to read ahead
                continue
            for sp in spectra:
                if not still_wanted():
                    return done
                if self.get(sp.spectrum_id) is not None:
                    continue
                try:
                    data = read(cf, sp.spectrum_id)
                except Exception as exc:
                    log.debug("read-ahead of %s skipped: %s", sp.spectrum_id, exc)
                    continue
                if data is not None:
                    self.put(sp.spectrum_id, data)
                    done += 1
        return done
