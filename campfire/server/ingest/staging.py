"""Ingest products that a remote deploy uploaded into the archive's object store.

On an S3 store, ``campfire deploy --base-url`` uploads every file straight to the store under
``.uploads/data/staging/<id>/`` (presigned PUT). :func:`ingest_staged` reads them from the store
into a private temporary folder (the FITS files must be read whole to be validated and rendered),
runs the same ingest as a local deploy, and removes the staged keys, whatever the outcome.

Examples
--------
>>> report = ingest_staged(archive, ".uploads/data/staging/1f2e/", user_id)  # doctest: +SKIP
>>> report.ingested  # doctest: +SKIP
1350
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from campfire.server.archive import Archive
from campfire.server.ingest.deploy import IngestReport, deploy_products

__all__ = ["ingest_staged"]


def _fetch(archive: Archive, prefix: str, dest: Path) -> int:
    """Copy every key under ``prefix`` into ``dest`` (8 at a time); return how many."""
    keys = list(archive.store.keys(prefix))

    def one(key: str) -> None:
        target = dest.joinpath(*key[len(prefix) :].split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        archive.store.get_file(key, target)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, keys))
    return len(keys)


def ingest_staged(archive: Archive, prefix: str, deployed_by: str | None) -> IngestReport:
    """Ingest the products uploaded under the store key ``prefix`` (ending in ``/``).

    Parameters
    ----------
    archive
        The open archive whose store holds the upload.
    prefix
        The staged products' key prefix, e.g. ``.uploads/data/staging/<id>/``.
    deployed_by
        The deploying admin's user id (provenance).

    Returns
    -------
    IngestReport
        What the ingest did.

    Raises
    ------
    FileNotFoundError
        If nothing with a ``program.json`` was uploaded under ``prefix``.
    """
    if not archive.store.exists(prefix + "program.json"):
        raise FileNotFoundError(prefix + "program.json")
    try:
        with tempfile.TemporaryDirectory(prefix="campfire-ingest-") as tmp:
            folder = Path(tmp) / "products"
            _fetch(archive, prefix, folder)
            return deploy_products(folder, archive, deployed_by=deployed_by)
    finally:
        for key in list(archive.store.keys(prefix)):
            archive.store.delete(key)
