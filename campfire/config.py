"""Settings read from the environment, once, when they are needed.

The variables are the ones the reference docs name:

=====================  ==========================================================
``CAMPFIRE_ROOT``      data directory (default ``~/campfire``)
``CAMPFIRE_API_URL``   archive base URL including ``/api/v1`` (no trailing ``/``)
``CAMPFIRE_API_KEY``   an API key for headless use (no ``campfire login`` needed)
``CAMPFIRE_OFFLINE``   ``1``/``true``: any network call raises :class:`OfflineError`
``CAMPFIRE_HOME``      where credentials live (default ``~/.campfire``)
=====================  ==========================================================

Examples
--------
>>> from campfire.config import Settings
>>> s = Settings.from_env({"CAMPFIRE_ROOT": "/data/cf", "CAMPFIRE_OFFLINE": "1"})
>>> str(s.data_dir), s.offline
('/data/cf', True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["DEFAULT_API_URL", "Settings", "normalize_base_url"]

DEFAULT_API_URL = "https://campfire.hollisakins.com/api/v1"
_TRUE = {"1", "true", "yes", "on"}


def normalize_base_url(url: str) -> str:
    """Return ``url`` without trailing slashes; the base must include ``/api/v1``.

    Examples
    --------
    >>> normalize_base_url("http://127.0.0.1:8765/api/v1/")
    'http://127.0.0.1:8765/api/v1'
    """
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Frozen configuration; build it with :meth:`from_env`.

    Attributes
    ----------
    data_dir
        The data directory (``meta/``, ``products/``, ``cutouts/`` live under it).
    base_url
        The archive base URL, including ``/api/v1``.
    api_key
        An API key from ``CAMPFIRE_API_KEY``, or None.
    offline
        True when network calls are forbidden.
    home
        The credentials directory (``~/.campfire``).
    """

    data_dir: Path
    base_url: str
    api_key: str | None
    offline: bool
    home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        root = env.get("CAMPFIRE_ROOT") or "~/campfire"
        home = env.get("CAMPFIRE_HOME") or "~/.campfire"
        return cls(
            data_dir=Path(root).expanduser(),
            base_url=normalize_base_url(env.get("CAMPFIRE_API_URL") or DEFAULT_API_URL),
            api_key=env.get("CAMPFIRE_API_KEY") or None,
            offline=env.get("CAMPFIRE_OFFLINE", "").strip().lower() in _TRUE,
            home=Path(home).expanduser(),
        )

    def with_overrides(
        self, *, base_url: str | None = None, data_dir: str | os.PathLike[str] | None = None
    ) -> Settings:
        """Return a copy with an explicit ``base_url`` and/or ``data_dir`` taking precedence."""
        out = self
        if base_url:
            out = replace(out, base_url=normalize_base_url(base_url))
        if data_dir is not None:
            out = replace(out, data_dir=Path(data_dir).expanduser())
        return out

    @property
    def meta_dir(self) -> Path:
        """``<data_dir>/meta``: the catalog database and CSV exports."""
        return self.data_dir / "meta"

    @property
    def products_dir(self) -> Path:
        """``<data_dir>/products``: downloaded FITS files, one folder per observation."""
        return self.data_dir / "products"

    @property
    def cutouts_dir(self) -> Path:
        """``<data_dir>/cutouts``: cached cutout PNGs and shutter JSON."""
        return self.data_dir / "cutouts"

    @property
    def db_path(self) -> Path:
        """``<data_dir>/meta/campfire.db``: the SQLite catalog."""
        return self.meta_dir / "campfire.db"

    @property
    def credentials_path(self) -> Path:
        """``~/.campfire/credentials``: the saved login."""
        return self.home / "credentials"
