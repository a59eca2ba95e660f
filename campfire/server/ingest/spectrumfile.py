"""Read one pipeline spectrum (``_spec.fits``) or redshift fit (``_zfit.fits``) for ingest.

:func:`read_spec_file` validates the file, measures what the catalog needs (S/N, exposure time,
DQ bits, hash, size) and renders the ``/spectrum`` JSON; :func:`read_zfit_file` renders the
``/redshift-fit`` JSON and returns ``ZBEST``. Both raise :class:`ProductError` naming the file
and what is wrong with it.

Examples
--------
>>> path = Path("ember_uds_p4/ember_uds_p4_prism_clear_42_spec.fits")
>>> spec = read_spec_file(path, "ember_uds_p4")  # doctest: +SKIP
>>> spec.grating, round(spec.signal_to_noise, 1)  # doctest: +SKIP
('PRISM', 12.3)
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ContentCache",
    "ProductError",
    "SpecFile",
    "SpecMeasures",
    "ZfitFile",
    "json_numbers",
    "parse_spec_name",
    "read_spec_file",
    "read_zfit_file",
    "spec_content",
    "zfit_content",
]

_SPEC_RE = re.compile(r"^(?P<grating>[a-z0-9]+)_(?P<filter>[a-z0-9]+)_(?P<sid>[0-9]+)_spec\.fits$")


class ProductError(ValueError):
    """A product file that cannot be ingested; ``file`` names it, ``reason`` says why."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class SpecMeasures:
    """What a spectrum file's bytes say, whatever its name."""

    exposure_time: float | None
    reduction_version: str
    dq_flags: int
    signal_to_noise: float | None
    file_hash: str
    file_size: int
    spectrum_json: bytes


@dataclass(frozen=True)
class SpecFile(SpecMeasures):
    """What the catalog needs from one ``_spec.fits`` file: its measures and its name's parts."""

    path: Path
    spectrum_id: str
    grating: str
    filter: str
    source_id: int


@dataclass
class ZfitFile:
    """What the catalog needs from one ``_zfit.fits`` file."""

    path: Path
    redshift: float | None
    file_hash: str
    zfit_json: bytes


def json_numbers(values: Any, fmt: str = "{:.6g}") -> str:
    """JSON text for a 1D or 2D numeric array; non-finite values become ``null``.

    Examples
    --------
    >>> json_numbers(np.array([1.0, np.nan, 2.5e-3]))
    '[1,null,0.0025]'
    >>> json_numbers(np.array([[1.0, 2.0], [3.0, np.inf]]), "{:.3g}")
    '[[1,2],[3,null]]'
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2:
        return "[" + ",".join(json_numbers(row, fmt) for row in arr) + "]"
    text = ",".join(map(fmt.format, arr.ravel().tolist()))
    text = text.replace("-inf", "null").replace("inf", "null").replace("nan", "null")
    return "[" + text + "]"


def parse_spec_name(observation: str, name: str) -> tuple[str, str, int] | None:
    """``(GRATING, FILTER, source_id)`` from a spectrum file name, or None if off-pattern.

    Examples
    --------
    >>> parse_spec_name("ember_uds_p4", "ember_uds_p4_g395m_f290lp_123_spec.fits")
    ('G395M', 'F290LP', 123)
    >>> parse_spec_name("ember_uds_p4", "other_prism_clear_1_spec.fits") is None
    True
    """
    prefix = observation + "_"
    if not name.startswith(prefix):
        return None
    m = _SPEC_RE.match(name[len(prefix) :])
    if m is None:
        return None
    return m["grating"].upper(), m["filter"].upper(), int(m["sid"])


def _column(names: list[str], *wanted: str) -> str | None:
    lower = {n.lower(): n for n in names}
    for w in wanted:
        if w in lower:
            return lower[w]
    return None


def _header_float(header: Any, key: str) -> float | None:
    value = header.get(key)
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _profile_columns(hdul: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """PROF1D's row positions and fitted profile (None each when absent)."""
    pix = fit = None
    if "PROF1D" in hdul:
        tab = hdul["PROF1D"].data
        names = list(tab.columns.names)
        ypos = _column(names, "ypos", "pix")
        opt = _column(names, "opt", "pfit")
        if ypos is not None:
            pix = np.asarray(tab[ypos], dtype=float)
        if opt is not None:
            fit = np.asarray(tab[opt], dtype=float)
    return pix, fit


def _profile(
    pix: np.ndarray | None, fit: np.ndarray | None, sci: np.ndarray | None
) -> tuple[str, str, str]:
    """(profile, profile_fit, profile_pix) JSON texts."""
    measured = None
    if sci is not None and sci.ndim == 2:
        with np.errstate(invalid="ignore"):
            measured = np.nansum(np.where(np.isfinite(sci), sci, 0.0), axis=1)
        total = float(np.sum(np.abs(measured)))
        if total > 0:
            measured = measured / total
        if pix is None:
            pix = np.arange(sci.shape[0]) + 0.5
    if fit is not None and measured is not None and fit.size == measured.size:
        norm = float(np.sum(np.abs(fit)))
        if norm > 0:
            fit = fit / norm
    return (
        json_numbers(measured if measured is not None else [], "{:.5g}"),
        json_numbers(fit if fit is not None else [], "{:.5g}"),
        json_numbers(pix if pix is not None else [], "{:.5g}"),
    )


@dataclass(frozen=True)
class _SpecContent(SpecMeasures):
    """A spectrum file's measures and its ``GRATING`` keyword (None when absent)."""

    grating: str | None


class ContentCache:
    """Remember what was read from each file *content* during one deploy.

    Keyed by the file's identity (device, inode, size, mtime), so hard-linked copies of one
    file (as in the large demo) are read, hashed and rendered once.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, tuple[int, int, int, int]], Any] = {}

    def get(self, kind: str, path: Path, make: Any) -> Any:
        """``make(bytes)`` for ``path``, computed once per distinct file."""
        st = path.stat()
        key = (kind, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
        if key not in self._seen:
            try:
                self._seen[key] = make(path.read_bytes())
            except ProductError as exc:
                self._seen[key] = exc
        value = self._seen[key]
        if isinstance(value, ProductError):
            raise ProductError(str(path.name), value.reason)
        return value

    def put(self, kind: str, path: Path, value: Any) -> None:
        """Record what ``path``'s content gives, made by whoever wrote it (the demo)."""
        st = path.stat()
        self._seen[(kind, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))] = value


def _measure_spec(data: bytes) -> _SpecContent:
    """Validate a spectrum file's bytes and measure what the catalog needs."""
    from astropy.io import fits

    try:
        with fits.open(io.BytesIO(data), memmap=False) as hdul:
            primary = hdul[0].header
            hdr_grating = primary.get("GRATING")
            ext = "SPEC1D" if "SPEC1D" in hdul else 1
            tab = hdul[ext].data
            if tab is None or not hasattr(tab, "columns"):
                raise ProductError("", "HDU 1 (SPEC1D) is not a binary table")
            names = list(tab.columns.names)
            cols = [_column(names, c) for c in ("wave", "fnu", "fnu_err")]
            missing = [c for c, n in zip(("wave", "fnu", "fnu_err"), cols, strict=True) if not n]
            if missing:
                raise ProductError("", f"SPEC1D lacks the column(s) {', '.join(missing)}")
            wave, fnu, err = (np.asarray(tab[n], dtype=float) for n in cols)
            sci = np.asarray(hdul["SCI"].data, dtype=float) if "SCI" in hdul else None
            err2d = np.asarray(hdul["ERR"].data, dtype=float) if "ERR" in hdul else None
            prof_pix, prof_fit = _profile_columns(hdul)
            exptime = _header_float(primary, "EXPTIME")
            version = str(primary.get("CMPFRVER", "") or "v1.0").strip() or "v1.0"
            dq = int(primary.get("CMPFRDQ", 0) or 0)
    except ProductError:
        raise
    except Exception as exc:
        raise ProductError("", f"unreadable FITS ({type(exc).__name__}: {exc})") from exc
    return spec_content(
        data,
        grating=None if hdr_grating is None else str(hdr_grating),
        wave=wave, fnu=fnu, err=err, sci=sci, err2d=err2d, prof_pix=prof_pix,
        prof_fit=prof_fit, exptime=exptime, version=version, dq=dq,
    )  # fmt: skip


def spec_content(
    data: bytes,
    *,
    grating: str | None,
    wave: np.ndarray,
    fnu: np.ndarray,
    err: np.ndarray,
    sci: np.ndarray | None,
    err2d: np.ndarray | None,
    prof_pix: np.ndarray | None,
    prof_fit: np.ndarray | None,
    exptime: float | None,
    version: str,
    dq: int,
) -> _SpecContent:
    """What the catalog needs from a spectrum file whose values are known: the file's bytes
    and the values read from it (float64), as :func:`read_spec_file` would read them.

    The demo, which wrote the file, gives them without the file being read again.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = np.isfinite(fnu) & np.isfinite(err) & (err > 0) & (fnu != 0)
        snr = float(np.median(fnu[valid] / err[valid])) if valid.any() else None
        if sci is not None and err2d is not None and sci.shape == err2d.shape and sci.ndim == 2:
            snr2d = np.where(err2d > 0, sci / err2d, np.nan)
        else:
            snr2d = np.zeros((0, wave.size))
    profile, profile_fit, profile_pix = _profile(prof_pix, prof_fit, sci)
    fnu_out = np.where(valid, fnu, np.nan)
    err_out = np.where(valid, err, np.nan)
    body = (
        '{"wave":'
        + json_numbers(wave, "{:.7g}")
        + ',"fnu":'
        + json_numbers(fnu_out)
        + ',"fnu_err":'
        + json_numbers(err_out)
        + ',"snr_2d":'
        + json_numbers(snr2d, "{:.3g}")
        + f',"n_spatial":{int(snr2d.shape[0])},"n_wave":{int(wave.size)}'
        + ',"profile":'
        + profile
        + ',"profile_fit":'
        + profile_fit
        + ',"profile_pix":'
        + profile_pix
        + "}"
    )
    return _SpecContent(
        grating=None if grating is None else grating.strip().upper(),
        exposure_time=exptime,
        reduction_version=version,
        dq_flags=dq,
        signal_to_noise=snr if snr is not None and math.isfinite(snr) else None,
        file_hash="sha256:" + hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        spectrum_json=body.encode(),
    )


def read_spec_file(
    path: Path, observation: str, rel: str | None = None, cache: ContentCache | None = None
) -> SpecFile:
    """Validate and measure one spectrum file of ``observation``.

    Parameters
    ----------
    path
        The ``_spec.fits`` file.
    observation
        The observation folder it sits in (its name must start with it).
    rel
        How to name the file in error reports (default: its name).
    cache
        Reuse what was read from the same file content earlier in this deploy.

    Raises
    ------
    ProductError
        For a name off the pattern, an unreadable file or missing columns.
    """
    label = rel or path.name
    parsed = parse_spec_name(observation, path.name)
    if parsed is None:
        raise ProductError(
            label,
            f"file name is off the pattern {observation}_<grating>_<filter>_<source_id>"
            "_spec.fits (all lower case)",
        )
    grating, filt, source_id = parsed
    try:
        content = (cache or ContentCache()).get("spec", path, _measure_spec)
    except ProductError as exc:
        raise ProductError(label, exc.reason) from None
    if content.grating is not None and content.grating != grating:
        raise ProductError(
            label, f"GRATING keyword {content.grating!r} disagrees with the file name"
        )
    return SpecFile(
        path=path,
        spectrum_id=path.name[: -len("_spec.fits")],
        grating=grating,
        filter=filt,
        source_id=source_id,
        **{f.name: getattr(content, f.name) for f in fields(SpecMeasures)},
    )


def read_zfit_file(
    path: Path, rel: str | None = None, cache: ContentCache | None = None
) -> ZfitFile:
    """Read a ``_zfit.fits`` file into the ``/redshift-fit`` JSON.

    Raises
    ------
    ProductError
        For an unreadable file or missing ``MODEL``/``CHI2`` tables.
    """
    try:
        made: ZfitFile = (cache or ContentCache()).get("zfit", path, _measure_zfit)
    except ProductError as exc:
        raise ProductError(rel or path.name, exc.reason) from None
    return ZfitFile(
        path=path, redshift=made.redshift, file_hash=made.file_hash, zfit_json=made.zfit_json
    )


def _measure_zfit(data: bytes) -> ZfitFile:
    from astropy.io import fits

    label = ""
    try:
        with fits.open(io.BytesIO(data), memmap=False) as hdul:
            hdr = hdul[0].header
            if "MODEL" not in hdul or "CHI2" not in hdul:
                raise ProductError(label, "a zfit file needs MODEL and CHI2 tables")
            model, chi2 = hdul["MODEL"].data, hdul["CHI2"].data
            mw = _column(list(model.columns.names), "wav", "wave")
            mf = _column(list(model.columns.names), "fnu", "flux")
            cz = _column(list(chi2.columns.names), "z")
            cc = _column(list(chi2.columns.names), "chi2")
            if not (mw and mf and cz and cc):
                raise ProductError(label, "MODEL needs wav/fnu and CHI2 needs z/chi2 columns")
            made = zfit_content(
                data, {k: _header_float(hdr, k) for k in ("ZBEST", "CHI2MIN", "ZCONF", "ZQUAL")},
                z_grid=chi2[cz], chi2_grid=chi2[cc], model_wave=model[mw], model_fnu=model[mf],
            )  # fmt: skip
    except ProductError:
        raise
    except Exception as exc:
        raise ProductError(label, f"unreadable FITS ({type(exc).__name__}: {exc})") from exc
    return made


def zfit_content(data: bytes, header: dict[str, float | None], **arrays: Any) -> ZfitFile:
    """What the catalog needs from a zfit file whose values are known: its bytes, the
    ``ZBEST``, ``CHI2MIN``, ``ZCONF`` and ``ZQUAL`` read from it, and its ``z_grid``,
    ``chi2_grid``, ``model_wave`` and ``model_fnu`` columns (as :func:`read_zfit_file` reads
    them; the demo gives them without the file being read again).
    """
    zbest = header.get("ZBEST")
    body: dict[str, Any] = {
        "redshift": zbest,
        "chi2_min": header.get("CHI2MIN"),
        "confidence": header.get("ZCONF"),
        "quality": header.get("ZQUAL"),
    }
    formats = {"z_grid": "{:.6g}", "chi2_grid": "{:.6g}", "model_wave": "{:.7g}",
               "model_fnu": "{:.6g}"}  # fmt: skip
    text = json.dumps(body)[:-1]
    for key, fmt in formats.items():
        text += f', "{key}": ' + json_numbers(np.asarray(arrays[key], dtype=float), fmt)
    text += "}"
    return ZfitFile(
        path=Path(),
        redshift=zbest,
        file_hash="sha256:" + hashlib.sha256(data).hexdigest(),
        zfit_json=text.encode(),
    )
