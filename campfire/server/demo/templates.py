"""The redshift fit's templates: continuum shapes and line profiles, dense or as normal equations.

At each trial redshift the fit of :mod:`campfire.server.demo.redshifts` needs only the
weighted normal equations ``M = D W Dᵀ`` and ``b = D W y`` of its design matrix ``D``
(templates × pixels). :func:`normal_equations` builds them one of three ways, whichever
costs least, chosen from the arguments alone (so a spectrum's χ² is the same to the last bit
whichever process fits it, and in whatever order):

* from the dense ``(nz, ntemplates, npix)`` design of :func:`design` (broadened lines and
  PRISM lines, whose ±5σ windows cover much of the spectrum);
* from the line windows alone (a grating's sharp lines): one entry per (trial z, line,
  pixel) and one product per pair of overlapping windows (:func:`plan`);
* from a :class:`SparsePlan` kept between spectra: the coarse pass over the same pixels and
  z grid (every PRISM spectrum, and every grating spectrum without a chip gap) costs three
  sparse matrix-vector products per spectrum.

All three are the same sums added in a different order, so they agree to rounding
(``tests/demo/test_demo_zfit_equations.py`` compares them, and the fit, with a
straightforward line-by-line reference).

Examples
--------
>>> from campfire.server.demo.dispersers import get_disperser
>>> d = get_disperser("G395M", "F290LP")
>>> w = np.ones(d.wave.size)
>>> m, b = normal_equations(d.wave, np.array([5.0]), d, 0.0, w, np.ones_like(w))
>>> full = design(d.wave, np.array([5.0]), d, 0.0)
>>> bool(np.allclose(m, full @ full.transpose(0, 2, 1)))
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from campfire.server.demo.dispersers import Disperser
from campfire.server.demo.sed import C_KMS, LINES, line_wavelengths

__all__ = ["GROUPS", "design", "normal_equations"]

SIGMA_V = 100.0 / C_KMS
BROAD_SIGMA_V = 3000.0 / 2.3548 / C_KMS

# line groups: (name, [(line key, relative strength)], broad?)
GROUPS: tuple[tuple[str, tuple[tuple[str, float], ...], bool], ...] = (
    (
        "ha",
        (("ha", 1.0), ("nii6585", 0.12), ("nii6550", 0.04), ("sii6718", 0.07), ("sii6733", 0.05)),
        False,
    ),
    ("balmer", (("hb", 1.0), ("hg", 0.47), ("hd", 0.26), ("h7", 0.16), ("h8", 0.1)), False),
    ("oiii", (("oiii5008", 1.0), ("oiii4960", 1 / 2.98), ("oiii4363", 0.02)), False),
    ("oii", (("oii3727", 1.0), ("oii3730", 0.8), ("neiii3870", 0.3)), False),
    ("lya", (("lya", 1.0),), False),
    (
        "uv",
        (
            ("ciii1907", 1.0),
            ("ciii1909", 0.66),
            ("civ1548", 0.5),
            ("civ1551", 0.25),
            ("heii1640", 0.3),
            ("mgii2796", 0.5),
            ("mgii2804", 0.25),
        ),
        False,
    ),
    (
        "nir",
        (
            ("paa", 1.0),
            ("pab", 0.47),
            ("pag", 0.26),
            ("pad", 0.16),
            ("siii9533", 0.5),
            ("siii9071", 0.2),
            ("hei10830", 0.6),
        ),
        False,
    ),
    ("broad", (("ha", 1.0), ("hb", 0.2), ("pab", 0.1), ("paa", 0.2)), True),
)


class _Windows(NamedTuple):
    """Line profiles at trial redshifts: one window per (z, line) in range, one entry a pixel.

    Windows are ordered by z index; entries by window, then pixel.
    """

    z: np.ndarray  # per window: its z index
    group: np.ndarray  # per window: its template group
    lo: np.ndarray  # per window: first pixel
    width: np.ndarray  # per window: number of pixels
    start: np.ndarray  # per window: offset of its first entry
    k: np.ndarray  # per entry: its window
    cols: np.ndarray  # per entry: its pixel
    val: np.ndarray  # per entry: the profile's value there


@lru_cache(maxsize=1)
def _line_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every line of every group: (ln rest λ [µm], amplitude, group index, σ_v in ln λ)."""
    lam = dict(zip([k for k, _, _ in LINES], line_wavelengths(), strict=True))
    rows = [
        (np.log(lam[k] * 1e-4), a, g, BROAD_SIGMA_V if broad else SIGMA_V)
        for g, (_, members, broad) in enumerate(GROUPS)
        for k, a in members
    ]
    ln_rest, amp, group, sig_v = (np.array(c) for c in zip(*rows, strict=True))
    return ln_rest, amp, group.astype(int), sig_v


def continuum(wave: np.ndarray, z: np.ndarray, disperser: Disperser) -> np.ndarray:
    """Continuum basis, shape (nz, ncont, npix) (a broadcast view for gratings)."""
    if not disperser.is_prism:
        lo, hi = disperser.wave[0], disperser.wave[-1]
        x = (2.0 * wave - (lo + hi)) / (hi - lo)
        basis = np.stack([np.ones_like(x), x, 1.5 * x**2 - 0.5], axis=0)
        return np.broadcast_to(basis, (z.size, *basis.shape))
    lnrest = np.log(wave * 1e4)[None, :] - np.log1p(z)[:, None]

    def step(centre: float, width: float) -> np.ndarray:
        rise: np.ndarray = 0.5 * (1.0 + np.tanh((lnrest - np.log(centre)) / width))
        return rise

    above_lya = step(1216.0, 0.01)
    forest = step(912.0, 0.01) * (1.0 - above_lya)
    balmer = step(3800.0, 0.03) * above_lya
    red = np.exp(2.0 * (lnrest - np.log(5000.0))) * above_lya
    blue = np.exp(-1.0 * (lnrest - np.log(1500.0))) * above_lya
    return np.stack([above_lya, forest, balmer, red, blue], axis=1)


def _windows(
    wave: np.ndarray, z: np.ndarray, disperser: Disperser, extra_sigma_ln: float
) -> _Windows:
    """Every line's profile at every trial z, a window of ±5σ around each (clipped)."""
    ln_rest, amp, group, sig_v = _line_table()
    nw = wave.size
    lnw = np.log(wave)
    dln = np.gradient(lnw)
    base2 = (disperser.sigma_um(wave) / wave) ** 2 + extra_sigma_ln**2 + dln**2 / 12.0
    centre = ln_rest[None, :] + np.log1p(z)[:, None]  # (nz, nlines)
    zi, li = np.nonzero((centre > lnw[0] - 0.05) & (centre < lnw[-1] + 0.05))
    c = centre[zi, li]
    pix = np.clip(np.searchsorted(lnw, c), 0, nw - 1)
    half = np.ceil(5.0 * np.sqrt(base2[pix] + sig_v[li] ** 2) / dln[pix]).astype(int) + 1
    lo = np.maximum(pix - half, 0)
    count = np.minimum(pix + half + 1, nw) - lo
    start = np.cumsum(count) - count
    k = np.repeat(np.arange(zi.size), count)
    cols = lo[k] + (np.arange(k.size) - start[k])
    s = np.sqrt(base2[cols] + sig_v[li[k]] ** 2)
    val = amp[li[k]] * np.exp(-0.5 * ((lnw[cols] - c[k]) / s) ** 2) / s * dln[cols]
    return _Windows(zi, group[li], lo, count, start, k, cols, val)


def design(
    wave: np.ndarray, z: np.ndarray, disperser: Disperser, extra_sigma_ln: float
) -> np.ndarray:
    """Design matrices, shape (nz, ntemplates, npix): continuum shapes, then line groups."""
    cont = continuum(wave, z, disperser)
    nc, nw = cont.shape[1], wave.size
    shape = (z.size, nc + len(GROUPS), nw)
    win = _windows(wave, z, disperser, extra_sigma_ln)
    flat = (win.z[win.k] * shape[1] + nc + win.group[win.k]) * nw + win.cols
    out = np.bincount(flat, weights=win.val, minlength=int(np.prod(shape))).reshape(shape)
    out[:, :nc, :] = cont
    return out


def _overlaps(win: _Windows) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of windows at the same z whose pixels overlap."""
    n = win.z.size
    ends = np.searchsorted(win.z, win.z, side="right")  # one past the last window of a's z
    pa, pb = [np.zeros(0, dtype=int)], [np.zeros(0, dtype=int)]
    hi = win.lo + win.width
    for d in range(1, int((ends - np.arange(n)).max(initial=1))):
        a = np.nonzero(np.arange(n) + d < ends)[0]
        b = a + d
        hit = (win.lo[b] < hi[a]) & (win.lo[a] < hi[b])
        pa.append(a[hit])
        pb.append(b[hit])
    return np.concatenate(pa), np.concatenate(pb)


class Plan(NamedTuple):
    """What the normal equations at trial redshifts need that no spectrum changes.

    Built by :func:`plan` from the pixel grid, the trial redshifts and the line widths; a
    spectrum's weights and data then give ``M`` and ``b`` in a few sums over its entries.
    """

    nz: int
    cont: np.ndarray  # continuum basis: (nz, nc, npix) for the PRISM, (nc, npix) for gratings
    cols: np.ndarray  # per window entry: its pixel
    row: np.ndarray  # per entry: z index × ngroups + group
    val: np.ndarray  # per entry: the profile's value
    val_cont: np.ndarray  # (nc, nentries): the profile times each continuum shape there
    cell: np.ndarray  # per entry: the (z, group, group) cell of its square
    val2: np.ndarray  # per entry: the profile's square
    pair_pix: np.ndarray  # per pixel of two overlapping windows: the pixel
    pair_cell: np.ndarray  # its (z, group of the first, group of the second) cell
    pair_val: np.ndarray  # the product of the two profiles there


def plan(wave: np.ndarray, z: np.ndarray, disperser: Disperser, extra_sigma_ln: float) -> Plan:
    """The spectrum-independent part of :func:`normal_equations` (see :class:`Plan`)."""
    ng = len(GROUPS)
    cont = continuum(wave, z, disperser)
    win = _windows(wave, z, disperser, extra_sigma_ln)
    zk, gk = win.z[win.k], win.group[win.k]
    if disperser.is_prism:
        val_cont = cont[zk, :, win.cols].T * win.val
    else:
        cont = np.ascontiguousarray(cont[0])
        val_cont = cont[:, win.cols] * win.val
    pa, pb = _overlaps(win)
    lo = np.maximum(win.lo[pa], win.lo[pb])
    cnt = np.minimum(win.lo[pa] + win.width[pa], win.lo[pb] + win.width[pb]) - lo
    q = np.repeat(np.arange(pa.size), cnt)
    pix = lo[q] + (np.arange(q.size) - (np.cumsum(cnt) - cnt)[q])
    pair_val = win.val[win.start[pa[q]] + pix - win.lo[pa[q]]]
    pair_val = pair_val * win.val[win.start[pb[q]] + pix - win.lo[pb[q]]]
    pair_cell = ((win.z[pa] * ng + win.group[pa]) * ng + win.group[pb])[q]
    return Plan(
        z.size,
        cont,
        win.cols,
        zk * ng + gk,
        win.val,
        val_cont,
        (zk * ng + gk) * ng + gk,
        win.val**2,
        pix,
        pair_cell,
        pair_val,
    )


class SparsePlan(NamedTuple):
    """A :class:`Plan` as sparse matrices, for one kept and used for many spectra.

    Building the matrices costs more than one spectrum's sums over the entries, and each
    spectrum then costs a few sparse matrix-vector products (about 20 times faster).
    """

    nz: int
    nc: int
    cont: np.ndarray
    lines: Any  # CSR (nz·ng, npix): b's line rows are ``lines @ (w y)``
    mixed: Any  # CSR (nz·ng·nc, npix): M's line × continuum block is ``mixed @ w``
    squares: Any  # CSR (nz·ng·ng, npix): ``squares @ w`` plus its transpose is M's line block


def _sparse(p: Plan, npix: int) -> SparsePlan:
    from scipy.sparse import csr_matrix

    nc, ng = p.val_cont.shape[0], len(GROUPS)
    rows = (p.row[None, :] * nc + np.arange(nc)[:, None]).ravel()
    half = p.cell // ng % ng == p.cell % ng  # (z, g, g): a window with itself, counted once
    square = np.where(half, 0.5, 1.0) * p.val2
    return SparsePlan(
        p.nz,
        nc,
        p.cont,
        csr_matrix((p.val, (p.row, p.cols)), shape=(p.nz * ng, npix)),
        csr_matrix((p.val_cont.ravel(), (rows, np.tile(p.cols, nc))), shape=(p.nz * ng * nc, npix)),
        csr_matrix(
            (
                np.concatenate([square, p.pair_val]),
                (np.concatenate([p.cell, p.pair_cell]), np.concatenate([p.cols, p.pair_pix])),
            ),
            shape=(p.nz * ng * ng, npix),
        ),
    )


_CHUNK = 160
_PLANS: dict[tuple[object, ...], SparsePlan] = {}


def _plan_for(
    wave: np.ndarray, z: np.ndarray, disperser: Disperser, extra_sigma_ln: float, keep: bool
) -> Plan | SparsePlan | None:
    """How to build one spectrum's normal equations; None: from the dense design.

    With ``keep``, the plan is kept as a :class:`SparsePlan` for the next spectrum on the same
    pixels and z grid. Otherwise the cheaper way for one spectrum, as measured
    (docs/demo-archive.md): the window sums for a grating's sharp lines (narrow windows),
    the dense design for broadened lines and for the PRISM (wide windows, few pixels). The
    way depends on the arguments alone, never on what was asked before, so a spectrum's
    χ² is the same to the last bit in whichever process and order it is fitted.
    """
    if keep:
        key = (disperser.grating, disperser.filter, extra_sigma_ln, wave.tobytes(), z.tobytes())
        found = _PLANS.get(key)
        if found is None:
            found = _sparse(plan(wave, z, disperser, extra_sigma_ln), wave.size)
            if len(_PLANS) >= 2:  # the PRISM's plan and one grating's: bounded memory
                _PLANS.pop(next(iter(_PLANS)))
            _PLANS[key] = found
        return found
    if not disperser.is_prism and extra_sigma_ln == 0.0:
        return plan(wave, z, disperser, extra_sigma_ln)
    return None


def _dense_equations(
    wave: np.ndarray,
    z: np.ndarray,
    disperser: Disperser,
    extra_sigma_ln: float,
    w: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`normal_equations` from the dense design, in chunks of z that bound memory."""
    sw = np.sqrt(w)
    ys = y * sw
    ms, bs = [], []
    for lo in range(0, z.size, _CHUNK):
        full = design(wave, z[lo : lo + _CHUNK], disperser, extra_sigma_ln)
        full *= sw
        ms.append(np.matmul(full, full.transpose(0, 2, 1)))
        bs.append(full @ ys)
    return np.concatenate(ms), np.concatenate(bs)


def normal_equations(
    wave: np.ndarray,
    z: np.ndarray,
    disperser: Disperser,
    extra_sigma_ln: float,
    w: np.ndarray,
    y: np.ndarray,
    *,
    keep: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``M = D W Dᵀ`` (nz, k, k) and ``b = D W y`` (nz, k) of :func:`design`.

    Parameters
    ----------
    wave, z, disperser, extra_sigma_ln
        As for :func:`design`.
    w, y
        Weights (1/σ²) and data at ``wave``.
    keep
        Use (and keep) the sparse spectrum-independent part for every call on the same
        pixels and z grid (the coarse pass of every spectrum with no pixel masked).
    """
    p = _plan_for(wave, z, disperser, extra_sigma_ln, keep)
    if p is None:
        return _dense_equations(wave, z, disperser, extra_sigma_ln, w, y)
    nz, nc, ng = p.nz, p.nc if isinstance(p, SparsePlan) else p.val_cont.shape[0], len(GROUPS)
    kk = nc + ng
    m = np.zeros((nz, kk, kk))
    b = np.zeros((nz, kk))
    wy = w * y
    if p.cont.ndim == 3:
        m[:, :nc, :nc] = np.matmul(p.cont * w, p.cont.transpose(0, 2, 1))
    else:
        m[:, :nc, :nc] = (p.cont * w) @ p.cont.T
    b[:, :nc] = p.cont @ wy
    if isinstance(p, SparsePlan):
        b[:, nc:] = (p.lines @ wy).reshape(nz, ng)
        mcl = (p.mixed @ w).reshape(nz, ng, nc)
        m[:, nc:, :nc] = mcl
        m[:, :nc, nc:] = mcl.transpose(0, 2, 1)
        half = (p.squares @ w).reshape(nz, ng, ng)
        m[:, nc:, nc:] = half + half.transpose(0, 2, 1)
        return m, b
    size = nz * ng
    if p.cols.size == 0:
        return m, b
    wk = w[p.cols]
    b[:, nc:] = np.bincount(p.row, p.val * wy[p.cols], minlength=size).reshape(nz, ng)
    for c in range(nc):
        mcl = np.bincount(p.row, p.val_cont[c] * wk, minlength=size).reshape(nz, ng)
        m[:, c, nc:] = mcl
        m[:, nc:, c] = mcl
    # line × line: each window with itself, then each overlapping pair both ways round
    mll = np.bincount(p.cell, p.val2 * wk, minlength=size * ng).reshape(nz, ng, ng)
    if p.pair_pix.size:
        cross = np.bincount(p.pair_cell, p.pair_val * w[p.pair_pix], minlength=size * ng)
        cross = cross.reshape(nz, ng, ng)
        mll += cross + cross.transpose(0, 2, 1)
    m[:, nc:, nc:] = mll
    return m, b
