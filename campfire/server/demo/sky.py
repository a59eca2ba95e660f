"""The synthetic sky: galaxy populations with positions, SEDs and shapes, field by field.

Each galaxy gets a kind (star-forming, quiescent, Lyα emitter, little red dot, broad-line AGN,
dusty), a redshift drawn from a kind-dependent distribution, SED parameters
(:class:`campfire.server.demo.sed.Population`), a Sérsic shape for the images and a position
in its field. Targets are drawn brighter and more "interesting" than the background galaxies
around them, as MSA target lists are.

Sky positions use the gnomonic (TAN) projection around a tangent point: ``xi`` to the east and
``eta`` to the north, in arcsec; :func:`tangent_to_sky` / :func:`sky_to_tangent` are exact.

Examples
--------
>>> ra, dec = tangent_to_sky(150.0, 2.0, np.array([3600.0]), np.array([0.0]))
>>> round(float(ra[0]) - 150.0, 4)   # a degree east at dec 2° spans a little more RA
1.0005
>>> [round(float(v), 6) for v in sky_to_tangent(150.0, 2.0, ra, dec)[0]]
[3600.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from campfire.server.demo.sed import KINDS, Population

__all__ = ["FIELDS", "Sky", "draw_galaxies", "sky_to_tangent", "tangent_to_sky"]

#: field name -> (RA, Dec) of its centre, degrees
FIELDS: dict[str, tuple[float, float]] = {
    "uds": (34.405, -5.200),
    "cosmos": (150.115, 2.290),
    "egs": (214.900, 52.880),
    "gds": (53.140, -27.800),
    "gdn": (189.230, 62.240),
    "abell2744": (3.580, -30.400),
}

_TARGET_MIX = {"sf": 0.60, "qg": 0.08, "lae": 0.10, "lrd": 0.07, "blagn": 0.05, "dusty": 0.10}
_FIELD_MIX = {"sf": 0.80, "qg": 0.05, "lae": 0.04, "lrd": 0.01, "blagn": 0.0, "dusty": 0.10}


def tangent_to_sky(
    ra0: float, dec0: float, xi_arcsec: np.ndarray, eta_arcsec: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic deprojection: tangent-plane offsets (east, north; arcsec) to RA, Dec (deg)."""
    xi = np.radians(np.asarray(xi_arcsec, dtype=float) / 3600.0)
    eta = np.radians(np.asarray(eta_arcsec, dtype=float) / 3600.0)
    a0, d0 = np.radians(ra0), np.radians(dec0)
    denom = np.cos(d0) - eta * np.sin(d0)
    ra = a0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(d0) + eta * np.cos(d0), np.hypot(xi, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def sky_to_tangent(
    ra0: float, dec0: float, ra: np.ndarray, dec: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic projection: RA, Dec (deg) to tangent-plane offsets (east, north; arcsec)."""
    a, d = np.radians(np.asarray(ra, dtype=float)), np.radians(np.asarray(dec, dtype=float))
    a0, d0 = np.radians(ra0), np.radians(dec0)
    cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    xi = np.cos(d) * np.sin(a - a0) / cosc
    eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc
    return np.degrees(xi) * 3600.0, np.degrees(eta) * 3600.0


@dataclass
class Sky:
    """Galaxies of one field: SEDs, positions and image shapes (arrays of equal length).

    Attributes
    ----------
    field
        Lower-case field name.
    pop
        SED parameters.
    ra, dec
        ICRS degrees.
    re_arcsec, sersic_n, axis_ratio, shape_pa
        Half-light radius, Sérsic index, b/a and position angle (deg E of N) for imaging.
    is_target
        Drawn as a potential MSA target (else a background/neighbour galaxy).
    priority
        MSA planning priority (higher first).
    catalog_id
        Running id in the field's photometric catalog.
    """

    field: str
    pop: Population
    ra: np.ndarray
    dec: np.ndarray
    re_arcsec: np.ndarray
    sersic_n: np.ndarray
    axis_ratio: np.ndarray
    shape_pa: np.ndarray
    is_target: np.ndarray
    priority: np.ndarray
    catalog_id: np.ndarray

    def __len__(self) -> int:
        return len(self.ra)


def _redshifts(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    n = kind.size
    z = np.empty(n)
    # star-forming: a broad distribution peaking near z~2-3 with a tail to z~11
    grid = np.linspace(0.3, 11.5, 500)
    pdf = grid**1.3 * np.exp(-grid / 1.7) + 0.02
    cdf = np.cumsum(pdf) / pdf.sum()
    z[:] = np.interp(rng.random(n), cdf, grid)
    ranges = {
        "qg": (1.2, 5.0),
        "lae": (3.0, 8.5),
        "lrd": (3.2, 8.5),
        "blagn": (1.5, 7.0),
        "dusty": (1.0, 4.5),
    }
    for name, (lo, hi) in ranges.items():
        sel = kind == KINDS.index(name)
        z[sel] = lo + (hi - lo) * rng.random(int(sel.sum())) ** 1.2
    return z


def draw_galaxies(
    rng: np.random.Generator, n: int, targets: bool
) -> tuple[Population, dict[str, Any]]:
    """Draw ``n`` galaxies' SED parameters and image shapes.

    Parameters
    ----------
    rng
        The random generator (determinism comes from its seed).
    n
        How many.
    targets
        Draw from the MSA target mix (brighter, more AGN and line emitters) instead of the
        field mix.

    Returns
    -------
    pop, shapes
        The SED parameters and ``{"re_arcsec", "sersic_n", "axis_ratio", "shape_pa"}``.
    """
    mix = _TARGET_MIX if targets else _FIELD_MIX
    probs = np.array([mix[k] for k in KINDS])
    kind = rng.choice(len(KINDS), size=n, p=probs / probs.sum())
    z = _redshifts(rng, kind)
    u = rng.random((n, 12))
    # targets: 23.5-29 AB; background: number counts rising to ~30 AB
    bright, faint = 23.5 + 5.5 * u[:, 0] ** 0.6, 30.0 - 2.5 * np.log10(1.0 + 99.0 * u[:, 0])
    mag = bright if targets else faint
    zterm = np.clip((z - 4.0) / 4.0, -1.0, 1.0)
    cols: dict[str, np.ndarray] = {
        "z": z,
        "kind": kind.astype(float),
        "mag": mag,
        "beta": -2.0 - 0.25 * zterm + 0.35 * rng.standard_normal(n),
        "balmer": 1.05 + 0.35 * u[:, 1],
        "gamma": -1.9 + 0.8 * u[:, 2],
        "av": 0.6 * u[:, 3] ** 2 * (1.0 - 0.5 * np.clip(zterm, 0, 1)),
        "agn_frac": np.zeros(n),
        "agn_av": np.zeros(n),
        "ew_ha": np.exp(
            np.log(150.0) + 0.5 * np.clip(z, 0, 7) / 2.0 + 0.6 * rng.standard_normal(n)
        ),
        "o3hb": np.clip(2.0 + 1.2 * np.clip(z, 0, 6) / 2.0 + rng.standard_normal(n), 0.3, 9.0),
        "o2hb": 0.6 + 1.8 * u[:, 4],
        "n2ha": np.clip(0.25 - 0.035 * z + 0.04 * rng.standard_normal(n), 0.01, 0.4),
        "lya_fesc": 0.08 * u[:, 5] ** 2,
        "sigma_v": 40.0 + 110.0 * u[:, 6],
        "broad_fwhm": np.zeros(n),
        "broad_ratio": np.zeros(n),
        "absorb": np.zeros(n),
    }
    re = (
        0.45
        * (1.0 + z) ** -0.75
        * 10.0 ** (-0.12 * (mag - 25.0))
        * np.exp(0.3 * rng.standard_normal(n))
    )
    sersic = 0.8 + 0.8 * u[:, 7]

    def pick(name: str) -> np.ndarray:
        chosen: np.ndarray = kind == KINDS.index(name)
        return chosen

    sel = pick("qg")
    m = int(sel.sum())
    cols["balmer"][sel] = 1.8 + 0.8 * rng.random(m)
    cols["beta"][sel] = 0.3 + 1.0 * rng.random(m)
    cols["gamma"][sel] = -1.0 + 0.6 * rng.random(m)
    cols["av"][sel] = 0.3 * rng.random(m)
    cols["ew_ha"][sel] = 3.0 * rng.random(m)
    cols["o3hb"][sel] = 0.8
    cols["absorb"][sel] = 2.0 + 3.0 * rng.random(m)
    re[sel] *= 0.6
    sersic[sel] = 3.0 + 1.5 * rng.random(m)

    sel = pick("lae")
    m = int(sel.sum())
    cols["beta"][sel] = -2.6 + 0.5 * rng.random(m)
    cols["av"][sel] = 0.1 * rng.random(m)
    cols["balmer"][sel] = 1.0 + 0.05 * rng.random(m)
    cols["ew_ha"][sel] = 400.0 + 1200.0 * rng.random(m)
    cols["o3hb"][sel] = 4.5 + 3.0 * rng.random(m)
    cols["lya_fesc"][sel] = 0.3 + 0.5 * rng.random(m)
    re[sel] *= 0.7

    sel = pick("lrd")
    m = int(sel.sum())
    cols["beta"][sel] = -2.3 + 0.6 * rng.random(m)
    cols["av"][sel] = 0.15 * rng.random(m)
    cols["agn_frac"][sel] = 3.0 + 5.0 * rng.random(m)
    cols["agn_av"][sel] = 2.0 + 1.5 * rng.random(m)
    cols["broad_fwhm"][sel] = 1500.0 + 2500.0 * rng.random(m)
    cols["broad_ratio"][sel] = 3.0 + 5.0 * rng.random(m)
    cols["ew_ha"][sel] = 60.0 + 80.0 * rng.random(m)
    re[sel] = 0.015 + 0.02 * rng.random(m)

    sel = pick("blagn")
    m = int(sel.sum())
    cols["agn_frac"][sel] = 1.0 + 2.0 * rng.random(m)
    cols["agn_av"][sel] = 0.4 * rng.random(m)
    cols["broad_fwhm"][sel] = 3000.0 + 3000.0 * rng.random(m)
    cols["broad_ratio"][sel] = 3.0 + 4.0 * rng.random(m)
    re[sel] *= 0.5

    sel = pick("dusty")
    m = int(sel.sum())
    cols["av"][sel] = 1.5 + 1.5 * rng.random(m)
    cols["beta"][sel] = -1.3 + 0.6 * rng.random(m)
    cols["ew_ha"][sel] = 30.0 + 80.0 * rng.random(m)
    cols["balmer"][sel] = 1.2 + 0.3 * rng.random(m)

    shapes = {
        "re_arcsec": np.clip(re, 0.01, 1.5),
        "sersic_n": sersic,
        "axis_ratio": 0.3 + 0.7 * u[:, 8],
        "shape_pa": 180.0 * u[:, 9],
    }
    return Population(cols), shapes


def field_sky(
    rng: np.random.Generator,
    field: str,
    half_size_arcsec: tuple[float, float],
    n_targets: int,
    n_background: int,
    centre_offset: tuple[float, float] = (0.0, 0.0),
) -> Sky:
    """Populate a rectangular patch of a field with candidate targets and background galaxies.

    Parameters
    ----------
    rng
        The random generator.
    field
        A key of :data:`FIELDS`.
    half_size_arcsec
        Half widths of the patch (east, north) in arcsec.
    n_targets, n_background
        Numbers of candidate-target and background galaxies.
    centre_offset
        Offset (east, north; arcsec) of the patch from the field centre.
    """
    ra0, dec0 = FIELDS[field]
    pop_t, sh_t = draw_galaxies(rng, n_targets, targets=True)
    pop_b, sh_b = draw_galaxies(rng, n_background, targets=False)
    pop = Population.concatenate([pop_t, pop_b])
    n = n_targets + n_background
    xi = centre_offset[0] + half_size_arcsec[0] * (2.0 * rng.random(n) - 1.0)
    eta = centre_offset[1] + half_size_arcsec[1] * (2.0 * rng.random(n) - 1.0)
    ra, dec = tangent_to_sky(ra0, dec0, xi, eta)
    is_target = np.arange(n) < n_targets
    kind = pop["kind"].astype(int)
    interest = np.select(
        [kind == KINDS.index(k) for k in ("lrd", "blagn", "qg", "lae")], [3.0, 2.5, 2.0, 1.5], 1.0
    )
    priority = np.where(is_target, interest + 0.5 * (28.0 - pop["mag"]) + rng.random(n), -1.0)
    return Sky(
        field=field,
        pop=pop,
        ra=ra,
        dec=dec,
        re_arcsec=np.concatenate([sh_t["re_arcsec"], sh_b["re_arcsec"]]),
        sersic_n=np.concatenate([sh_t["sersic_n"], sh_b["sersic_n"]]),
        axis_ratio=np.concatenate([sh_t["axis_ratio"], sh_b["axis_ratio"]]),
        shape_pa=np.concatenate([sh_t["shape_pa"], sh_b["shape_pa"]]),
        is_target=is_target,
        priority=priority,
        catalog_id=np.arange(1, n + 1),
    )
