"""Read and validate a pipeline products directory (``docs/products-format.md``).

Nothing here touches the archive: :func:`read_program` and :func:`read_observation` turn files into
plain records, collecting a :class:`ProductError` for every bad file so the ingest can report it
and skip it. Spectrum FITS files are read by :mod:`campfire.server.ingest.spectrumfile`.

Examples
--------
>>> program = read_program(Path("products/"))  # doctest: +SKIP
>>> program.slug
'EMBER-UDS'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field as dc_field  # `field` is also an attribute name below
from pathlib import Path
from typing import Any

from campfire.server.ingest.ecsv import EcsvTable, read_ecsv
from campfire.server.ingest.spectrumfile import ProductError
from campfire.server.storage.database import parse_ts

__all__ = [
    "INSPECTION_COLUMNS",
    "PROVENANCE_KEYS",
    "SHUTTER_COLUMNS",
    "CutoutTile",
    "ObservationProducts",
    "PhotometryCatalog",
    "ProgramInfo",
    "read_cutouts",
    "read_observation",
    "read_photometry",
    "read_program",
]

_SLUG_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
_OBS_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*_p[0-9]+$")
_FIELD_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

#: The columns of ``<observation>/shutters.ecsv``.
SHUTTER_COLUMNS = (
    "source_id",
    "slitlet_id",
    "shutter_idx",
    "dither_id",
    "center_ra",
    "center_dec",
    "position_angle",
    "shutter_state",
)
#: The columns of ``<observation>/inspections.ecsv``.
INSPECTION_COLUMNS = (
    "source_id",
    "redshift_inspected",
    "redshift_quality",
    "inspected_by",
    "inspected_at",
    "tags",
)
#: The provenance keys of ``observation.json`` (stored on the observation's row).
PROVENANCE_KEYS = (
    "reduction_version",
    "crds_context",
    "cfpipe_version",
    "jwst_version",
    "reduced_at",
)


@dataclass
class ProgramInfo:
    """``program.json``."""

    slug: str
    program_name: str | None
    pi_name: str | None
    is_public: bool


@dataclass
class ObservationProducts:
    """One ``<observation>/`` folder, validated (spectrum files are only listed here)."""

    observation: str
    field: str
    program_slug: str
    provenance: dict[str, Any]
    pointings: Any
    targets: dict[int, tuple[float, float]]
    shutters: list[dict[str, Any]]
    inspections: dict[int, dict[str, Any]]
    spec_files: list[Path]
    errors: list[ProductError] = dc_field(default_factory=list)


@dataclass
class PhotometryCatalog:
    """One ``photometry/<catalog>.ecsv`` table, as rows of plain values."""

    name: str
    rows: list[dict[str, Any]]
    bands: list[str]


@dataclass
class CutoutTile:
    """One ``cutouts/<name>.png`` tile with its WCS."""

    name: str
    png: Path
    field: str
    filter: str
    naxis1: int
    naxis2: int
    wcs: dict[str, Any]


def _load_json(path: Path, label: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProductError(label, "missing") from None
    except (OSError, ValueError) as exc:
        raise ProductError(label, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ProductError(label, "must hold a JSON object")
    return data


def _read_table(path: Path, label: str, required: list[str]) -> EcsvTable:
    try:
        table = read_ecsv(path)
    except Exception as exc:
        raise ProductError(label, f"unreadable ECSV ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in required if c not in table.colnames]
    if missing:
        raise ProductError(label, f"missing column(s) {', '.join(missing)}")
    return table


def _rows(table: EcsvTable, cols: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts over ``cols`` (a column the table lacks is all None)."""
    n = len(table)
    data = [table.columns.get(c) or [None] * n for c in cols]
    return [dict(zip(cols, values, strict=True)) for values in zip(*data, strict=True)]


def _timestamp(value: Any) -> str | None:
    """A product timestamp in the archive's form (UTC, 6 digits, ``+00:00``); None stays None."""
    if value is None or value == "":
        return None
    return parse_ts(str(value))


def read_program(products_dir: Path) -> ProgramInfo:
    """Read and check ``program.json``.

    Raises
    ------
    ProductError
        When the file is missing, malformed or the slug is not upper case with dashes.
    """
    data = _load_json(products_dir / "program.json", "program.json")
    slug = data.get("slug")
    if not isinstance(slug, str) or not _SLUG_RE.match(slug):
        raise ProductError("program.json", f"slug {slug!r} must be upper case with dashes")
    return ProgramInfo(
        slug=slug,
        program_name=data.get("program_name"),
        pi_name=data.get("pi_name"),
        is_public=bool(data.get("is_public", False)),
    )


def read_observation(obs_dir: Path, program: ProgramInfo) -> ObservationProducts:
    """Read one observation folder; file-level problems land in ``errors``.

    Raises
    ------
    ProductError
        When the folder as a whole cannot be used (bad ``observation.json`` or ``targets.ecsv``).
    """
    name = obs_dir.name
    label = f"{name}/observation.json"
    meta = _load_json(obs_dir / "observation.json", label)
    if meta.get("observation") != name:
        raise ProductError(label, f"observation {meta.get('observation')!r} != folder {name!r}")
    if not _OBS_RE.match(name):
        raise ProductError(label, f"observation {name!r} must look like program_field_p1")
    if meta.get("program_slug") != program.slug:
        raise ProductError(
            label, f"program_slug {meta.get('program_slug')!r} != program.json {program.slug!r}"
        )
    fld = meta.get("field")
    if not isinstance(fld, str) or not _FIELD_RE.match(fld):
        raise ProductError(label, f"field {fld!r} must be a lower-case name")
    errors: list[ProductError] = []

    tlabel = f"{name}/targets.ecsv"
    table = _read_table(obs_dir / "targets.ecsv", tlabel, ["source_id", "ra", "dec"])
    targets: dict[int, tuple[float, float]] = {}
    for i, row in enumerate(_rows(table, ["source_id", "ra", "dec"])):
        sid, ra, dec = row["source_id"], row["ra"], row["dec"]
        if not isinstance(sid, int) or sid <= 0 or ra is None or dec is None:
            errors.append(ProductError(tlabel, f"row {i + 1}: bad source_id/ra/dec, skipped"))
        elif sid in targets:
            errors.append(ProductError(tlabel, f"row {i + 1}: duplicate source_id {sid}"))
        else:
            targets[sid] = (float(ra), float(dec))

    shutters: list[dict[str, Any]] = []
    spath = obs_dir / "shutters.ecsv"
    if spath.exists():
        cols = list(SHUTTER_COLUMNS)
        try:
            st = _read_table(spath, f"{name}/shutters.ecsv", cols)
            shutters = _rows(st, cols)
        except ProductError as exc:
            errors.append(exc)

    inspections: dict[int, dict[str, Any]] = {}
    ipath = obs_dir / "inspections.ecsv"
    if ipath.exists():
        try:
            it = _read_table(ipath, f"{name}/inspections.ecsv", ["source_id", "redshift_quality"])
            for i, row in enumerate(_rows(it, list(INSPECTION_COLUMNS))):
                q = row["redshift_quality"]
                if not isinstance(q, int) or not 0 <= q <= 4:
                    errors.append(
                        ProductError(
                            f"{name}/inspections.ecsv", f"row {i + 1}: redshift_quality must be 0-4"
                        )
                    )
                    continue
                try:
                    row["inspected_at"] = _timestamp(row["inspected_at"])
                except ValueError:
                    errors.append(
                        ProductError(
                            f"{name}/inspections.ecsv",
                            f"row {i + 1}: inspected_at {row['inspected_at']!r} is not ISO-8601",
                        )
                    )
                    continue
                inspections[int(row["source_id"])] = row
        except ProductError as exc:
            errors.append(exc)

    try:
        meta["reduced_at"] = _timestamp(meta.get("reduced_at"))
    except ValueError:
        raise ProductError(
            label, f"reduced_at {meta.get('reduced_at')!r} is not ISO-8601"
        ) from None
    provenance = {k: meta.get(k) for k in PROVENANCE_KEYS}
    return ObservationProducts(
        observation=name,
        field=fld,
        program_slug=program.slug,
        provenance=provenance,
        pointings=meta.get("pointings"),
        targets=targets,
        shutters=shutters,
        inspections=inspections,
        spec_files=sorted(obs_dir.glob("*_spec.fits")),
        errors=errors,
    )


def read_photometry(products_dir: Path) -> tuple[list[PhotometryCatalog], list[ProductError]]:
    """Read every ``photometry/<catalog>.ecsv``."""
    catalogs: list[PhotometryCatalog] = []
    errors: list[ProductError] = []
    for path in sorted((products_dir / "photometry").glob("*.ecsv")):
        label = f"photometry/{path.name}"
        try:
            table = _read_table(path, label, ["catalog_id", "field", "ra", "dec"])
        except ProductError as exc:
            errors.append(exc)
            continue
        bands = [
            c[2:] for c in table.colnames if c.startswith("f_") and f"e_{c[2:]}" in table.colnames
        ]
        rows = _rows(table, [*table.colnames])
        catalogs.append(PhotometryCatalog(name=path.stem, rows=rows, bands=bands))
    return catalogs, errors


def read_cutouts(products_dir: Path) -> tuple[list[CutoutTile], list[ProductError]]:
    """Read every ``cutouts/<name>.png`` + ``<name>.json`` pair."""
    from PIL import Image

    tiles: list[CutoutTile] = []
    errors: list[ProductError] = []
    for png in sorted((products_dir / "cutouts").glob("*.png")):
        label = f"cutouts/{png.name}"
        try:
            meta = _load_json(png.with_suffix(".json"), f"cutouts/{png.stem}.json")
            wcs = meta.get("wcs")
            keys = ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1", "CD2_2")
            if not isinstance(wcs, dict) or any(k not in wcs for k in keys):
                raise ProductError(f"cutouts/{png.stem}.json", f"wcs needs {', '.join(keys)}")
            try:
                with Image.open(png) as im:
                    size = im.size
            except Exception as exc:
                raise ProductError(label, f"unreadable PNG ({exc})") from exc
            n1, n2 = int(meta.get("naxis1", size[0])), int(meta.get("naxis2", size[1]))
            if (n1, n2) != size:
                raise ProductError(label, f"image is {size[0]}x{size[1]}, JSON says {n1}x{n2}")
            tiles.append(
                CutoutTile(
                    name=png.stem,
                    png=png,
                    field=str(meta.get("field", "")),
                    filter=str(meta.get("filter", "rgb")),
                    naxis1=n1,
                    naxis2=n2,
                    wcs=wcs,
                )
            )
        except ProductError as exc:
            errors.append(exc)
    return tiles, errors
