"""Export fixtures: a client synced from the tiny demo archive, and one exported page.

The page is made once per module by the real client against the real server on loopback:
``cf.export_html`` of the ``uds`` objects (one with a cached cutout and shutters), with the
expected values computed independently (the spectra opened straight from their FITS files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from campfire import Campfire


@dataclass
class Exported:
    """An exported page and what it should show."""

    path: Path
    data: Path
    base_url: str
    api_key: str
    ids: list[str]
    hero: str
    title: str
    # object id -> [(grating, min wavelength, max wavelength)] of its spectra, from the FITS files
    spectra: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    redshift: dict[str, float] = field(default_factory=dict)
    n_shutters: int = 0  # rows of the hero's cached /shutters answer


def client(srv, data: Path, mp: pytest.MonkeyPatch) -> Campfire:
    mp.setenv("CAMPFIRE_API_KEY", srv.users[0]["api_key"])  # alice: every program
    mp.setenv("CAMPFIRE_ROOT", str(data))
    return Campfire(base_url=srv.base_url, data_dir=data)


@pytest.fixture
def connect():
    """``connect(srv, data, monkeypatch)``: a client of ``srv`` as alice, data in ``data``."""
    return client


@pytest.fixture(scope="module")
def exported(tiny_server, tmp_path_factory) -> Exported:
    from campfire.io.fits import read_spectrum

    root = tmp_path_factory.mktemp("export")
    data = root / "data"
    with pytest.MonkeyPatch.context() as mp:
        cf = client(tiny_server, data, mp)
        cf.sync()
        sel = cf.query_objects(fields=["uds"])
        ids = [str(i) for i in sel["object_id"]]
        hero = next(i for i, n in zip(ids, sel["n_spectra"], strict=True) if n > 0)
        cf.get_cutout(hero)
        n_shutters = len(cf.get_shutters(hero)["shutters"])
        title = "uds test page"
        path = cf.export_html(sel, root / "page.html", title=title)
        out = Exported(path, data, tiny_server.base_url, srv_key(tiny_server), ids, hero, title)
        out.n_shutters = n_shutters
        for oid in ids:
            obj = cf.get_object(oid)
            assert obj is not None
            out.redshift[oid] = math.nan if obj.redshift is None else float(obj.redshift)
            rows = []
            for sp in obj.spectra:
                spec = read_spectrum(sp.local_file)  # opened and kept by export_html
                w = np.asarray(spec.wavelength, dtype=float)
                ok = np.isfinite(w) & np.isfinite(spec.fnu) & np.isfinite(spec.fnu_err)
                ok &= np.asarray(spec.fnu_err) > 0
                rows.append((sp.grating, float(w[ok].min()), float(w[ok].max())))
            out.spectra[oid] = rows
    return out


def srv_key(srv) -> str:
    return str(srv.users[0]["api_key"])
