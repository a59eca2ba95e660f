"""Ingest products that a remote deploy uploaded into the archive's object store.

On an S3 store, ``campfire deploy --base-url`` uploads every file straight to the store under
``.uploads/data/staging/<id>/`` (presigned PUT). :func:`ingest_staged` reads them from the store
into a private temporary folder (the FITS files must be read whole to be validated and rendered),
runs the same ingest as a local deploy, and removes the staged keys, whatever the outcome. The
ingest's blobs are server-side copies of the staged objects (``copy_object``), so the bytes
cross the network once, not down and up again.

Examples
--------
>>> report = ingest_staged(archive, ".uploads/data/staging/1f2e/", user_id)  # doctest: +SKIP
>>> report.ingested  # doctest: +SKIP
1350
"""

from __future__ import annotations

import contextlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from campfire.server.archive import Archive
from campfire.server.ingest.deploy import IngestReport, deploy_products
from campfire.server.storage.s3store import S3FileStore

__all__ = ["ingest_staged"]


def _fetch(archive: Archive, prefix: str, dest: Path) -> dict[Path, str]:
    """Copy every key under ``prefix`` into ``dest`` (8 at a time); return ``{path: key}``."""
    keys = list(archive.store.keys(prefix))

    def one(key: str) -> tuple[Path, str]:
        target = dest.joinpath(*key[len(prefix) :].split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        archive.store.get_file(key, target)
        return target, key

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, keys))


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
            origins = _fetch(archive, prefix, folder)
            store = archive.store
            copies = (store.copies_of(origins) if isinstance(store, S3FileStore)
                      else contextlib.nullcontext())  # fmt: skip
            with copies:
                return deploy_products(folder, archive, deployed_by=deployed_by)
    finally:
        for key in list(archive.store.keys(prefix)):
            archive.store.delete(key)
