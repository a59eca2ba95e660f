"""The client's imaging cache: cutouts and MSA shutters of one object under ``cutouts/``.

Cutout PNGs and shutter JSON come from the archive once and are cached under ``cutouts/``
(named by object, field of view and size; written atomically); a DS9 region file of the
shutters and a matplotlib plot are made from the cache. :class:`CutoutCache` (``cf.cutouts``)
holds the cache; ``get_cutout``, ``get_shutters``, ``get_shutters_region`` and ``plot_cutout``
are methods of :class:`~campfire.client.Campfire`, written here and bound there.

Examples
--------
>>> cf.get_cutout("J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
PosixPath('/data/campfire/cutouts/J021737.42-051208.5_fov3.2.png')
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.errors import APIError, ValidationError

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient
    from campfire.client.core import Campfire
    from campfire.config import Settings

__all__ = ["CutoutCache", "get_cutout", "get_shutters", "get_shutters_region", "plot_cutout"]

log = logging.getLogger("campfire.client")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")


class CutoutCache:
    """Cutouts and shutters of one object, cached under ``cutouts/``.

    Parameters
    ----------
    settings
        The client's settings (``cutouts_dir``).
    api
        ``api(what)``: the archive client for a network call described by ``what``.
    resolve
        ``resolve(object_id)``: the object's name for any id ``get_object`` accepts (a target
        id such as ``ember_uds_p4_123456``); ``Campfire.resolve_object_id``. None takes ids
        as they are.

    Examples
    --------
    >>> cache = CutoutCache(settings, cf._online, cf.resolve_object_id)  # doctest: +SKIP
    >>> data = cache.shutters(cache.resolve("ember_uds_p4_123456"), 5.0, True)  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        api: Callable[[str], ApiClient],
        resolve: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self._online = api
        self._resolve = resolve

    def resolve(self, object_id: str) -> str:
        """The object's name for ``object_id`` (a name or a target id); an id that could not
        name a cache file (``../etc``) is refused before anything is looked up.
        """
        from campfire.client.ids import check_id

        object_id = check_id("object_id", object_id)
        self.cache_file(object_id, object_id)  # ValidationError for a path-like id
        if self._resolve is None:
            return object_id
        return self._resolve(object_id)

    def cache_file(self, object_id: str, name: str) -> Path:
        """The cache path ``name`` of ``object_id``'s files, refused if it would leave the cache."""
        if not isinstance(object_id, str) or not _SAFE_NAME.match(object_id):
            raise ValidationError(
                f"object_id {object_id!r} cannot name a cache file: use letters, digits and "
                "'_.+-' (an object name such as J021737.42-051208.5)"
            )
        root = self.settings.cutouts_dir.resolve()
        path = (root / name).resolve()
        if path.parent != root:
            raise ValidationError(f"cache path {path} would leave {root}")
        return path

    @staticmethod
    def write(path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def check_fov(fov: Any, size: Any = None) -> float:
        """``fov`` as float arcsec, after checking it and ``size`` (ValidationError if bad)."""
        if isinstance(fov, bool) or not isinstance(fov, int | float) or not math.isfinite(fov):
            raise ValidationError(f"fov must be a finite number of arcsec (got {fov!r})")
        if not 0 < fov <= 30:
            raise ValidationError(f"fov must be in (0, 30] arcsec (got {fov})")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValidationError(f"size must be a positive number of pixels (got {size!r})")
        return float(fov)

    def cutout_file(self, object_id: str, size: int | None, fov: float, cache: bool) -> Path:
        """The cached cutout PNG of an object name (fetched unless ``cache`` and present)."""
        suffix = "" if size is None else f"_s{size}"
        path = self.cache_file(object_id, f"{object_id}_fov{fov:g}{suffix}.png")
        if cache and path.is_file():
            return path
        data = self._online("get_cutout()").get_cutout(object_id, size=size, fov=fov)
        if not data.startswith(b"\x89PNG"):
            raise APIError(f"the archive's cutout of {object_id} is not a PNG")
        self.write(path, data)
        return path

    def shutters(self, object_id: str, fov: float, cache: bool) -> dict[str, Any]:
        """The cached shutters JSON of an object name (fetched unless ``cache`` and present)."""
        path = self.cache_file(object_id, f"{object_id}_fov{fov:g}_shutters.json")
        if cache and path.is_file():
            try:
                return dict(json.loads(path.read_text()))
            except (OSError, ValueError):
                log.info("cached shutters %s unreadable; fetching again", path)
        data = dict(self._online("get_shutters()").get_shutters(object_id, radius=fov))
        self.write(path, json.dumps(data).encode())
        return data


# -- the methods of Campfire (bound in campfire/client/core.py) ----------------------------
def get_cutout(
    self: Campfire, object_id: str, size: int | None = None, fov: float = 5.0, cache: bool = True
) -> Path:
    """Path of the object's cutout PNG (north up, east left), cached under ``cutouts/``.

    Examples
    --------
    >>> path = cf.get_cutout("J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
    """
    c = self.cutouts
    fov = c.check_fov(fov, size)
    return c.cutout_file(c.resolve(object_id), size, fov, cache)


def get_shutters(
    self: Campfire, object_id: str, fov: float = 5.0, cache: bool = True
) -> dict[str, Any]:
    """The MSA shutters within ``fov`` arcsec of the object (``/shutters`` JSON), cached.

    Examples
    --------
    >>> data = cf.get_shutters("J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
    >>> len(data["shutters"])  # doctest: +SKIP
    """
    c = self.cutouts
    fov = c.check_fov(fov)
    return c.shutters(c.resolve(object_id), fov, cache)


def get_shutters_region(
    self: Campfire,
    object_id: str,
    fov: float = 5.0,
    output: str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> Path:
    """Write the shutters as a DS9 region file (fk5 boxes at their PA); return its path.

    Examples
    --------
    >>> cf.get_shutters_region("J021737.42-051208.5", output="shutters.reg")  # doctest: +SKIP
    """
    from campfire.views.imaging import shutters_to_regions

    c = self.cutouts
    object_id = c.resolve(object_id)
    text = shutters_to_regions(c.shutters(object_id, c.check_fov(fov), cache), object_id=object_id)
    path = (
        Path(output)
        if output is not None
        else c.cache_file(object_id, f"{object_id}_fov{float(fov):g}_shutters.reg")
    )
    c.write(path, text.encode())
    return path


def plot_cutout(
    self: Campfire,
    object_id: str,
    fov: float = 5.0,
    size: int | None = None,
    shutters: bool | str = True,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Plot the cutout with the MSA shutters on top (``shutters``: True/'all', 'target',
    False); extra keywords (``shutter_style``, ``scalebar``) go to
    :func:`campfire.views.imaging.plot_cutout`. Returns the axes.

    Examples
    --------
    >>> ax = cf.plot_cutout("J021737.42-051208.5", fov=3.2, shutters="target")  # doctest: +SKIP
    """
    from campfire.views.imaging import plot_cutout as draw

    c = self.cutouts
    fov = c.check_fov(fov, size)
    object_id = c.resolve(object_id)
    path = c.cutout_file(object_id, size, fov, True)
    data = c.shutters(object_id, fov, True) if shutters else None
    return draw(
        path,
        shutters=data,
        object_id=object_id,
        fov=fov,
        ax=ax,
        shutters_mode=shutters,
        **kwargs,
    )
