"""NIRSpec MSA geometry for the synthetic demo archive: target selection and shutter positions.

The MSA is four quadrants of 365 (dispersion) × 171 (spatial) shutters, 0.20″×0.46″ open on a
0.267″×0.528″ pitch, separated by gaps of 21″ (dispersion) and 23″ (spatial). In the MSA frame
``x`` runs along the dispersion and ``y`` along the slit; the slit's long (spatial) axis points at
the observation's position angle ``PA`` (east of north), so in the tangent plane (``xi`` east,
``eta`` north) the spatial unit vector is ``(sin PA, cos PA)`` and the dispersion unit vector
``(cos PA, -sin PA)``.

Each target sits in the open area of the middle shutter of a 3-shutter slitlet. Three nods move
the telescope by one shutter pitch along the slit: in dither 1 the target is in shutter 1 (the
middle), in dither 2 in shutter 2 and in dither 3 in shutter 0. A few shutters are stuck closed.

Examples
--------
>>> xi, eta = msa_to_tangent(np.array([0.0]), np.array([1.0]), pa=90.0)
>>> round(float(xi[0]), 6), round(float(eta[0]), 6)   # PA 90: the slit points east
(1.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from campfire.server.demo.sky import Sky, sky_to_tangent, tangent_to_sky

__all__ = [
    "OPEN_X",
    "OPEN_Y",
    "PITCH_X",
    "PITCH_Y",
    "MsaPlan",
    "msa_to_tangent",
    "plan_msa",
    "shutter_table",
    "tangent_to_msa",
]

PITCH_X, PITCH_Y = 0.267, 0.528  # arcsec: dispersion, spatial
OPEN_X, OPEN_Y = 0.20, 0.46  # open area of a shutter
N_ROWS, N_COLS = 365, 171  # shutters per quadrant: dispersion, spatial
GAP_X, GAP_Y = 21.0, 23.0  # gaps between quadrants, arcsec
#: dither offsets along the slit (units of PITCH_Y): where the target moves in the MSA frame
NOD_SHIFT = {1: 0, 2: 1, 3: -1}
STUCK_FRACTION = 0.07
#: (spatial, dispersion) separations in arcsec below which two PRISM spectra would overlap
PRISM_CLEARANCE = (1.0, 40.0)


def msa_to_tangent(x: np.ndarray, y: np.ndarray, pa: float) -> tuple[np.ndarray, np.ndarray]:
    """MSA-frame offsets (dispersion, spatial; arcsec) to tangent-plane (east, north)."""
    t = np.radians(pa)
    return x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)


def tangent_to_msa(xi: np.ndarray, eta: np.ndarray, pa: float) -> tuple[np.ndarray, np.ndarray]:
    """Tangent-plane offsets (east, north; arcsec) to the MSA frame (dispersion, spatial)."""
    t = np.radians(pa)
    return xi * np.cos(t) - eta * np.sin(t), xi * np.sin(t) + eta * np.cos(t)


def _grid(coord: np.ndarray, pitch: float, gap: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shutter index within the quadrant and the shutter centre, along one axis."""
    sign = np.where(coord >= 0, 1.0, -1.0)
    idx = np.floor((np.abs(coord) - gap / 2.0) / pitch).astype(int)
    centre = sign * (gap / 2.0 + (idx + 0.5) * pitch)
    idx = np.where((idx >= 0) & (idx < n), idx, -1)
    return idx, centre


@dataclass
class MsaPlan:
    """The targets of one MSA configuration and their slitlets.

    Attributes
    ----------
    index
        Indices into the field's :class:`~campfire.server.demo.sky.Sky` of the targets.
    ra, dec
        Target coordinates as the planner used them (the program's catalog positions).
    x, y
        Target positions in the MSA frame (arcsec from the pointing).
    centre_x, centre_y
        Centres of the targets' middle shutters in the MSA frame.
    stuck
        Boolean (ntarget, 3): shutter ``idx`` of the slitlet is stuck closed.
    slitlet_id
        Slitlet numbers.
    """

    ra0: float
    dec0: float
    pa: float
    index: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    x: np.ndarray
    y: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    stuck: np.ndarray
    slitlet_id: np.ndarray

    @property
    def msa_x(self) -> np.ndarray:
        """Dispersion position across the MSA, scaled to [-1, 1]."""
        half = GAP_X / 2.0 + N_ROWS * PITCH_X
        return np.clip(self.x / half, -1.0, 1.0)


def plan_msa(
    sky: Sky,
    ra0: float,
    dec0: float,
    pa: float,
    n_targets: int,
    rng: np.random.Generator,
    astrometry_sigma: float = 0.02,
    required: np.ndarray | None = None,
    priority: np.ndarray | None = None,
) -> MsaPlan:
    """Choose targets for one pointing as an MSA planner would.

    Candidates are the sky's targets whose (jittered) catalog position falls in the open area of
    a shutter whose neighbours along the slit are on the MSA too; they are taken by priority,
    skipping any whose 3-shutter slitlet would collide with one already chosen or whose PRISM
    spectrum would overlap one (grating spectra, much longer, may still overlap).

    Parameters
    ----------
    sky
        The field.
    ra0, dec0, pa
        Pointing centre (deg) and position angle of the slit axis (deg E of N).
    n_targets
        How many to place at most.
    rng
        Random generator (catalog jitter, stuck shutters).
    astrometry_sigma
        Per-program catalog astrometric scatter, arcsec.
    required
        Sky indices placed first whatever their priority (when they fit).
    priority
        This program's priorities (default: the sky's).
    """
    n = len(sky)
    jit = rng.standard_normal((2, n)) * astrometry_sigma
    xi, eta = sky_to_tangent(ra0, dec0, sky.ra, sky.dec)
    xi, eta = xi + jit[0], eta + jit[1]
    x, y = tangent_to_msa(xi, eta, pa)
    ix, cx = _grid(x, PITCH_X, GAP_X, N_ROWS)
    iy, cy = _grid(y, PITCH_Y, GAP_Y, N_COLS)
    ok = sky.is_target & (ix >= 0) & (iy >= 1) & (iy < N_COLS - 1)
    ok &= (np.abs(x - cx) < OPEN_X / 2) & (np.abs(y - cy) < OPEN_Y / 2)
    order = np.argsort(-(sky.priority if priority is None else priority), kind="stable")
    if required is not None:
        order = np.concatenate([required, order[~np.isin(order, required)]])
    chosen: list[int] = []
    used: set[tuple[int, int, int]] = set()
    for i in order:
        if len(chosen) >= n_targets:
            break
        if not ok[i]:
            continue
        quad = (int(np.sign(cx[i])), int(np.sign(cy[i])))
        cells = {(quad[0] * 1000 + quad[1], int(ix[i]), int(iy[i]) + k) for k in (-1, 0, 1)}
        if cells & used:
            continue
        if chosen:  # like the MPT default: PRISM spectra of two slitlets must not overlap
            dx, dy = np.abs(x[chosen] - x[i]), np.abs(y[chosen] - y[i])
            if np.any((dy < PRISM_CLEARANCE[0]) & (dx < PRISM_CLEARANCE[1])):
                continue
        used |= cells
        chosen.append(int(i))
    idx = np.array(chosen, dtype=int)
    ra, dec = tangent_to_sky(ra0, dec0, xi[idx], eta[idx])
    stuck = rng.random((idx.size, 3)) < STUCK_FRACTION
    stuck[:, 1] = False  # the planner never puts a target behind a failed-closed shutter
    return MsaPlan(
        ra0=ra0,
        dec0=dec0,
        pa=pa,
        index=idx,
        ra=ra,
        dec=dec,
        x=x[idx],
        y=y[idx],
        centre_x=cx[idx],
        centre_y=cy[idx],
        stuck=stuck,
        slitlet_id=np.arange(1, idx.size + 1),
    )


def shutter_table(
    plan: MsaPlan, source_ids: np.ndarray, n_dithers: int = 3
) -> dict[str, np.ndarray]:
    """Rows of ``shutters.ecsv``: every shutter of every slitlet in every dither.

    Returns
    -------
    dict
        Column name -> array: ``source_id`` (the target in the shutter that holds it in that
        dither, else 0), ``slitlet_id``, ``shutter_idx``, ``dither_id``, ``center_ra``,
        ``center_dec``, ``position_angle``, ``shutter_state``.
    """
    nt = plan.index.size
    dithers = list(range(1, n_dithers + 1))
    grids = np.meshgrid(np.arange(nt), dithers, np.arange(3), indexing="ij")
    t, d, k = (g.ravel() for g in grids)
    shift = np.array([NOD_SHIFT.get(int(v), 0) for v in dithers])[d - 1]
    # the sky moves by -shift pitches along the slit when the target moves by +shift
    sx = plan.centre_x[t]
    sy = plan.centre_y[t] + (k - 1 - shift) * PITCH_Y
    xi, eta = msa_to_tangent(sx, sy, plan.pa)
    ra, dec = tangent_to_sky(plan.ra0, plan.dec0, xi, eta)
    holds = k == 1 + shift
    state = np.where(plan.stuck[t, k], "stuck_closed", "open")
    return {
        "source_id": np.where(holds, np.asarray(source_ids)[t], 0).astype(np.int64),
        "slitlet_id": plan.slitlet_id[t].astype(np.int64),
        "shutter_idx": k.astype(np.int64),
        "dither_id": d.astype(np.int64),
        "center_ra": ra,
        "center_dec": dec,
        "position_angle": np.full(t.size, float(plan.pa)),
        "shutter_state": state,
    }
