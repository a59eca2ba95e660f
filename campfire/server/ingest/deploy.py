"""``campfire deploy``: load one program's pipeline products into an archive.

:func:`deploy_products` reads a products directory (``docs/products-format.md``), validates
every file, and writes each observation in one transaction: targets join sky objects within
0.25″, spectra are stored with their ``/spectrum`` and ``/redshift-fit`` JSON, aggregates
follow. Bad files are reported and skipped; a file is ingested whole or not at all. Re-deploying
unchanged products changes nothing; a changed file gets a new hash and ``updated_at``; a spectrum
whose file is gone is deleted (and reported to ``sync-deletions`` clients).

Examples
--------
>>> report = deploy_products("products/EMBER-UDS", "archive/")  # doctest: +SKIP
>>> report.ingested, report.skipped  # doctest: +SKIP
(1350, [])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from campfire.server.archive import Archive
from campfire.server.ingest.extras import ingest_cutouts, ingest_photometry
from campfire.server.ingest.observations import ObjectIndex, ingest_observation
from campfire.server.ingest.products import (
    ObservationProducts,
    ProgramInfo,
    read_observation,
    read_program,
)
from campfire.server.ingest.spectrumfile import (
    ContentCache,
    ProductError,
    SpecFile,
    ZfitFile,
    read_spec_file,
    read_zfit_file,
)
from campfire.server.storage.database import utc_now

__all__ = ["IngestReport", "deploy_products"]


@dataclass
class IngestReport:
    """What one deploy did; ``skipped`` lists ``{"file", "reason"}`` for every bad file."""

    program: str | None = None
    observations: list[str] = field(default_factory=list)
    ingested: int = 0
    unchanged: int = 0
    deleted: int = 0
    objects_created: int = 0
    objects_changed: int = 0
    photometry: int = 0
    cutouts: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, err: ProductError) -> None:
        """Record a bad file."""
        self.skipped.append({"file": err.file, "reason": err.reason})

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the ``/deploy/ingest`` answer)."""
        return asdict(self)


def _read_spectra(
    obs: ObservationProducts,
    report: IngestReport,
    progress: Callable[[str], None] | None,
    cache: ContentCache,
) -> list[tuple[SpecFile, ZfitFile | None]]:
    good = []
    for path in obs.spec_files:
        rel = f"{obs.observation}/{path.name}"
        try:
            spec = read_spec_file(path, obs.observation, rel, cache)
            if spec.source_id not in obs.targets:
                raise ProductError(rel, f"source_id {spec.source_id} is not in targets.ecsv")
            zpath = path.with_name(spec.spectrum_id + "_zfit.fits")
            zfit = (
                read_zfit_file(zpath, f"{obs.observation}/{zpath.name}", cache)
                if zpath.exists()
                else None
            )
        except ProductError as exc:
            report.skip(exc)
            continue
        good.append((spec, zfit))
        if progress is not None:
            progress(rel)
    return good


def _upsert_program(archive: Archive, program: ProgramInfo, now: str) -> None:
    with archive.db.transaction() as conn:
        row = conn.execute("SELECT * FROM programs WHERE slug = ?", (program.slug,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO programs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    program.slug,
                    program.program_name,
                    program.pi_name,
                    int(program.is_public),
                    now,
                    now,
                ),
            )
            return
        if bool(row["is_public"]) != program.is_public:
            conn.execute(
                "INSERT INTO access_events (user_id, program_slug, gained, at) VALUES (NULL,?,?,?)",
                (program.slug, int(program.is_public), now),
            )
        conn.execute(
            "UPDATE programs SET program_name = ?, pi_name = ?, is_public = ?, updated_at = ? "
            "WHERE slug = ?",
            (program.program_name, program.pi_name, int(program.is_public), now, program.slug),
        )


def deploy_products(
    products_dir: str | os.PathLike[str],
    archive_dir: str | os.PathLike[str] | Archive,
    *,
    deployed_by: str | None = None,
    progress: Callable[[str], None] | None = None,
    cache: ContentCache | None = None,
) -> IngestReport:
    """Ingest one program's products directory into an archive.

    Parameters
    ----------
    products_dir
        The products directory (``program.json``, one folder per observation …).
    archive_dir
        The archive directory (created when missing), or an open :class:`Archive`.
    deployed_by
        The deploying user's id, recorded as provenance.
    progress
        Called with each spectrum file's relative name as it is read.
    cache
        Share what was read from file contents across several deploys (hard-linked copies of
        one file are then read once in all of them).

    Returns
    -------
    IngestReport
        Counts, plus ``skipped``: every bad file with the reason.

    Examples
    --------
    >>> deploy_products("products/EMBER-UDS", "archive/").to_dict()["skipped"]  # doctest: +SKIP
    []
    """
    products = Path(products_dir)
    archive = archive_dir if isinstance(archive_dir, Archive) else Archive(archive_dir)
    report = IngestReport()
    if not products.is_dir():
        report.skip(ProductError(str(products), "not a directory"))
        return report
    try:
        program = read_program(products)
    except ProductError as exc:
        report.skip(exc)
        return report
    report.program = program.slug
    _upsert_program(archive, program, utc_now())
    objects = ObjectIndex(archive.db.conn())
    cache = cache if cache is not None else ContentCache()
    skip_dirs = {"photometry", "cutouts"}
    for obs_dir in sorted(p for p in products.iterdir() if p.is_dir()):
        if obs_dir.name in skip_dirs or obs_dir.name.startswith("."):
            continue
        try:
            obs = read_observation(obs_dir, program)
        except ProductError as exc:
            report.skip(exc)
            continue
        for err in obs.errors:
            report.skip(err)
        good = _read_spectra(obs, report, progress, cache)
        try:
            ingest_observation(archive, objects, obs, good, report, deployed_by)
        except Exception:
            objects = ObjectIndex(archive.db.conn())  # the index may hold rolled-back objects
            raise
        report.observations.append(obs.observation)
    report.photometry = ingest_photometry(archive, products, report)
    report.cutouts = ingest_cutouts(archive, products, report)
    if report.deleted or report.ingested:
        archive.store.collect_garbage()  # blobs of replaced or deleted files
        archive.db.conn().execute("ANALYZE")  # planner statistics: cones walk the dec index
    return report
