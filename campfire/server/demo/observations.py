"""One synthetic observation folder: targets, shutters, spectra and redshift fits.

:func:`build_observation` writes ``<observation>/`` of a products directory
(docs/products-format.md): ``observation.json``, ``targets.ecsv``, ``shutters.ecsv`` and, for each
target and each disperser it was observed with, ``_spec.fits`` and ``_zfit.fits``. Neighbouring
galaxies that fall in a slitlet and other targets' spectra that overlap on the detector are put
into the 2D data and flagged. :func:`write_observation_tables` writes the tables alone (the large
scale reuses it with pooled spectrum files).

Examples
--------
>>> records = build_observation(out, obs, sky, plan, source_ids, seed=42)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from campfire.server.demo.dispersers import Disperser, get_disperser, pixel_noise
from campfire.server.demo.files import (
    photometric_keywords,
    spec_measures,
    write_ecsv,
    write_spec_fits,
    write_zfit_fits,
    zfit_measures,
)
from campfire.server.demo.redshifts import fit_redshift
from campfire.server.demo.sed import model_fnu_pixels
from campfire.server.demo.shutters import NOD_SHIFT, OPEN_X, MsaPlan, shutter_table, tangent_to_msa
from campfire.server.demo.sky import FIELDS, Sky, sky_to_tangent, tangent_to_sky
from campfire.server.demo.spectra import (
    N_ROWS_2D,
    PIXEL_SCALE,
    Contaminant,
    SyntheticSpectrum,
    observe,
)

__all__ = [
    "Contents",
    "ObservationDef",
    "TargetRecord",
    "build_observation",
    "rng_for",
    "write_observation_tables",
]

Progress = Callable[[str, int, int], None]


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A random generator determined by the seed and a path of keys (order-independent use)."""
    words = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(words)


@dataclass(frozen=True)
class ObservationDef:
    """How one observation is planned.

    ``dispersers`` lists ``(grating, filter, exposure time [s], fraction of targets)``: the
    highest-priority fraction of the targets gets that configuration.
    """

    name: str
    program: str
    field: str
    offset: tuple[float, float]
    pa: float
    n_targets: int
    dispersers: tuple[tuple[str, str, float, float], ...]
    jwst_program: int
    jwst_obs: int

    def pointing(self) -> tuple[float, float]:
        """RA, Dec (deg) of the MSA centre."""
        ra0, dec0 = FIELDS[self.field]
        ra, dec = tangent_to_sky(ra0, dec0, np.array([self.offset[0]]), np.array([self.offset[1]]))
        return float(ra[0]), float(dec[0])


class Contents(Protocol):
    """Told what each written file holds (an ingest ``ContentCache``)."""

    def put(self, kind: str, path: Path, value: Any) -> None:
        """Record ``value`` (``kind`` ``"spec"`` or ``"zfit"``) for the file at ``path``."""


@dataclass
class TargetRecord:
    """What the demo needs to know about a target after its spectra were made."""

    source_id: int
    sky_index: int
    ra: float
    dec: float
    spectra: list[dict[str, Any]] = field(default_factory=list)


def write_observation_tables(
    folder: Path, obs: ObservationDef, plan: MsaPlan, source_ids: np.ndarray, reduced_at: str
) -> None:
    """Write ``observation.json``, ``targets.ecsv`` and ``shutters.ecsv``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "observation": obs.name,
        "field": obs.field,
        "program_slug": obs.program,
        "reduction_version": "v1.0",
        "crds_context": "jwst_1293.pmap",
        "cfpipe_version": "0.5.0",
        "jwst_version": "1.18.0",
        "reduced_at": reduced_at,
        "pointings": [
            {
                "ra": round(plan.ra0, 7),
                "dec": round(plan.dec0, 7),
                "position_angle": obs.pa,
                "n_dithers": len(NOD_SHIFT),
            }
        ],
    }
    (folder / "observation.json").write_text(json.dumps(meta, indent=1) + "\n")
    write_ecsv(
        folder / "targets.ecsv",
        {"source_id": np.asarray(source_ids, dtype=np.int64), "ra": plan.ra, "dec": plan.dec},
        units={"ra": "deg", "dec": "deg"},
    )
    write_ecsv(
        folder / "shutters.ecsv",
        shutter_table(plan, source_ids),
        units={"center_ra": "deg", "center_dec": "deg", "position_angle": "deg"},
    )


def _assignments(obs: ObservationDef, n: int) -> list[list[tuple[str, str, float]]]:
    """Per target (in priority order) the dispersers it was observed with."""
    out: list[list[tuple[str, str, float]]] = [[] for _ in range(n)]
    for grating, filt, exptime, fraction in obs.dispersers:
        for t in range(min(n, max(1, round(fraction * n)))):
            out[t].append((grating, filt, exptime))
    return out


def _contaminants(
    sky: Sky,
    plan: MsaPlan,
    t: int,
    xy: tuple[np.ndarray, np.ndarray],
    grid_model: Callable[[int], np.ndarray],
    noise: np.ndarray,
    is_prism: bool,
) -> list[Contaminant]:
    """Neighbours in target ``t``'s slit and other targets' spectra overlapping its trace."""
    from scipy.special import erf

    x, y = xy
    me = plan.index[t]
    dx, dy = x - x[me], y - y[me]
    sig = np.sqrt((sky.re_arcsec / 1.177) ** 2 + 0.05**2)
    out: list[Contaminant] = []
    near = np.nonzero((np.abs(dx) < OPEN_X / 2 + 2 * sig) & (np.abs(dy) < 0.9))[0]
    for j in near:
        if j == me:
            continue
        frac = 0.5 * (
            erf((OPEN_X / 2 - dx[j]) / (np.sqrt(2) * sig[j]))
            - erf((-OPEN_X / 2 - dx[j]) / (np.sqrt(2) * sig[j]))
        )
        fnu = grid_model(int(j)) * frac
        if np.sum(fnu > noise) >= 3:
            out.append(Contaminant(fnu, dy[j] / PIXEL_SCALE, sig[j] / PIXEL_SCALE))
    reach = 40.0 if is_prism else 150.0
    for u, j in enumerate(plan.index):
        if u == t:
            continue
        ddx, ddy = plan.x[u] - plan.x[t], plan.y[u] - plan.y[t]
        if abs(ddy) < N_ROWS_2D * PIXEL_SCALE / 2 and 0.5 < abs(ddx) < reach:
            shift = round(ddx / PIXEL_SCALE)
            fnu = np.roll(grid_model(j), shift)
            if shift > 0:
                fnu[:shift] = 0.0
            else:
                fnu[shift:] = 0.0
            if np.sum(fnu > noise) >= 5:
                out.append(Contaminant(fnu, ddy / PIXEL_SCALE, sig[j] / PIXEL_SCALE, overlap=True))
    return out


def build_observation(
    products: Path,
    obs: ObservationDef,
    sky: Sky,
    plan: MsaPlan,
    source_ids: np.ndarray,
    seed: int,
    reduced_at: str = "2026-03-01T12:00:00+00:00",
    progress: Progress | None = None,
    contents: Contents | None = None,
) -> list[TargetRecord]:
    """Write the observation folder with every spectrum and redshift fit.

    Parameters
    ----------
    products
        The program's products directory.
    obs, sky, plan
        The observation, its field and its MSA plan.
    source_ids
        The program's source ids of the plan's targets.
    seed
        Demo seed (with the observation and source id it seeds every random draw).
    reduced_at
        Reduction timestamp written to the headers (never the clock).
    progress
        ``progress(stage, done, total)``.
    contents
        Given, it is told what the ingest will measure in each file written (a deploy that
        is given it reads none of them again).
    """
    folder = products / obs.name
    write_observation_tables(folder, obs, plan, source_ids, reduced_at)
    xi, eta = sky_to_tangent(plan.ra0, plan.dec0, sky.ra, sky.dec)
    xy = tangent_to_msa(xi, eta, obs.pa)
    assign = _assignments(obs, plan.index.size)
    records = [
        TargetRecord(int(source_ids[t]), int(plan.index[t]), float(plan.ra[t]), float(plan.dec[t]))
        for t in range(plan.index.size)
    ]
    total = sum(len(a) for a in assign)
    done = 0
    for grating, filt, exptime in [d[:3] for d in obs.dispersers]:
        disp = get_disperser(grating, filt)
        cache: dict[int, np.ndarray] = {}

        def grid_model(
            j: int, disp: Disperser = disp, cache: dict[int, np.ndarray] = cache
        ) -> np.ndarray:
            if j not in cache:
                c, ln = model_fnu_pixels(sky.pop.take([j]), disp.edges, disp.sigma_um(disp.wave))
                cache[j] = c[0] + ln[0]
            model: np.ndarray = cache[j].copy()
            return model

        noise = pixel_noise(disp, exptime)
        for t, rec in enumerate(records):
            if (grating, filt, exptime) not in assign[t]:
                continue
            g = plan.index[t]
            rng = rng_for(seed, obs.name, rec.source_id, grating, filt)
            cal = (0.08 * rng.standard_normal(), 0.06 * rng.standard_normal())
            spec = observe(
                sky.pop.take([g]),
                disp,
                exptime,
                rng,
                offset_arcsec=float(plan.y[t] - plan.centre_y[t]),
                size_arcsec=float(sky.re_arcsec[g]),
                msa_x=float(plan.msa_x[t]),
                stuck=bool(plan.stuck[t].any()),
                contaminants=_contaminants(sky, plan, t, xy, grid_model, noise, disp.is_prism),
                corrupt=bool(rng.random() < 0.03),
                calibration=cal,
            )
            stem = f"{obs.name}_{grating}_{filt}_{rec.source_id}".lower()
            head = _primary_header(obs, plan, t, rec, grating, filt, exptime, spec, reduced_at)
            head["FILENAME"] = f"{stem}_spec.fits"
            sci = _sci_header(obs, sky, g, rec, spec.exptime)
            spec_path = folder / f"{stem}_spec.fits"
            raw = write_spec_fits(
                spec_path, spec, head, sci, _exposures(obs, plan, t, exptime, reduced_at)
            )
            fit = fit_redshift(spec.wave, spec.fnu, spec.fnu_err, disp)
            zhead = {
                k: head[k]
                for k in (
                    "TELESCOP",
                    "INSTRUME",
                    "PROGRAM",
                    "GRATING",
                    "FILTER",
                    "SOURCEID",
                    "CMPFRVER",
                    "CMPFRTIM",
                )
            }
            zhead["FILENAME"] = f"{stem}_zfit.fits"
            zfit_path = folder / f"{stem}_zfit.fits"
            zraw = write_zfit_fits(zfit_path, fit, zhead)
            if contents is not None:  # what the ingest would measure, without reading again
                contents.put("spec", spec_path, spec_measures(raw, spec, head))
                contents.put("zfit", zfit_path, zfit_measures(zraw, fit, zhead))
            rec.spectra.append(
                {
                    "spectrum_id": stem,
                    "grating": grating,
                    "filter": filt,
                    "snr": spec.snr,
                    "dq": spec.dq,
                    "zbest": fit.zbest,
                    "zqual": fit.zqual,
                    "zconf": fit.zconf,
                }
            )
            done += 1
            if progress is not None:
                progress(f"spectra {obs.name}", done, total)
    return records


def _shutsta(plan: MsaPlan, t: int) -> str:
    return "".join("0" if plan.stuck[t, k] else ("x" if k == 1 else "1") for k in range(3))


def _primary_header(
    obs: ObservationDef,
    plan: MsaPlan,
    t: int,
    rec: TargetRecord,
    grating: str,
    filt: str,
    exptime: float,
    spec: SyntheticSpectrum,
    reduced_at: str,
) -> dict[str, Any]:
    pid = obs.jwst_program
    return {
        "TELESCOP": "JWST",
        "INSTRUME": "NIRSPEC",
        "EXP_TYPE": "NRS_MSASPEC",
        "PROGRAM": f"{pid:05d}",
        "OBSERVTN": f"{obs.jwst_obs:03d}",
        "VISIT": "001",
        "FILENAME": "",
        "GRATING": grating,
        "FILTER": filt,
        "DETECTOR": "NRS1" if grating == "PRISM" else "NRS1,NRS2",
        "EFFEXPTM": (round(exptime / len(NOD_SHIFT), 3), "s, one exposure"),
        "EXPTIME": (round(spec.exptime, 3), "s, total of the combined exposures"),
        "NUMDTHPT": len(NOD_SHIFT),
        "NOD_TYPE": "3-SHUTTER-SLITLET",
        "PATT_NUM": 1,
        "MSAMETFL": f"jw{pid:05d}{obs.jwst_obs:03d}001_01_msa.fits",
        "MSAMETID": 1,
        "SLITID": int(plan.slitlet_id[t]),
        "SOURCEID": rec.source_id,
        "SRCNAME": f"{pid}_{rec.source_id}",
        "SRCRA": (round(rec.ra, 7), "deg"),
        "SRCDEC": (round(rec.dec, 7), "deg"),
        "SHUTSTA": (_shutsta(plan, t), "slitlet shutters: x target, 1 open, 0 closed"),
        "SRCYPOS": (round(float((plan.y[t] - plan.centre_y[t]) / 0.528), 4), "in shutter"),
        "SRCXPOS": (round(float((plan.x[t] - plan.centre_x[t]) / 0.267), 4), "in shutter"),
        "DATE-OBS": reduced_at[:10],
        "CMPFRTIM": (reduced_at, "CAMPFIRE reduction time"),
        "CMPFRVER": ("v1.0", "CAMPFIRE pipeline version"),
        "CMPFROPT": ("optimal", "1D extraction"),
        "CMPFRDQ": (int(spec.dq), "CAMPFIRE DQ bitmask"),
    }


def _sci_header(
    obs: ObservationDef, sky: Sky, g: int, rec: TargetRecord, exptime: float
) -> dict[str, Any]:
    head = {
        "SRCTYPE": "POINT" if sky.re_arcsec[g] < 0.08 else "EXTENDED",
        "XPOSURE": (round(exptime, 3), "s"),
        "SOURCEID": rec.source_id,
        "STLARITY": round(float(np.clip(0.08 / max(sky.re_arcsec[g], 0.01), 0, 1)), 3),
        "SRCRA": round(rec.ra, 7),
        "SRCDEC": round(rec.dec, 7),
        "SLIT_PA": (obs.pa, "deg E of N of the slit (spatial) axis"),
        "PSCALE": (PIXEL_SCALE, "arcsec per row"),
    }
    head.update(photometric_keywords())
    return head


def _exposures(
    obs: ObservationDef, plan: MsaPlan, t: int, exptime: float, reduced_at: str
) -> dict[str, Any]:
    pid = obs.jwst_program
    dithers = sorted(NOD_SHIFT)
    lost = [bool(plan.stuck[t, 1 + NOD_SHIFT[d]]) for d in dithers]
    return {
        "filename": np.array(
            [f"jw{pid:05d}{obs.jwst_obs:03d}001_03101_{d:05d}_nrs1_rate.fits" for d in dithers]
        ),
        "patt_num": np.array(dithers, dtype=np.int64),
        "nod_offset": np.array([NOD_SHIFT[d] * 0.528 for d in dithers]),
        "exptime": np.array([0.0 if x else exptime / len(dithers) for x in lost]),
        "shutter_state": np.array(["closed" if x else "open" for x in lost]),
        "date_obs": np.array([reduced_at[:10]] * len(dithers)),
    }
