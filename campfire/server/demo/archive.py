"""Build the demo archive: generated products, deployed through the real ingest, plus users.

:func:`build_demo_archive` calls the demo generator (:mod:`campfire.server.demo.generate`),
creates the demo users (who may inspect), deploys each program directory with
:func:`~campfire.server.ingest.deploy.deploy_products`, gives the users their grants and API keys,
and adds a few comments and lists (:mod:`campfire.server.demo.annotations`). Keys are derived
from the seed, so a rebuilt demo has the same keys; :func:`write_demo_users` writes
``demo-users.json`` for a given base URL.

Examples
--------
>>> users = build_demo_archive("demo/archive", scale="tiny", seed=42)  # doctest: +SKIP
>>> write_demo_users("demo/archive", "http://127.0.0.1:8765/api/v1")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from campfire.server.archive import Archive
from campfire.server.auth.users import add_user, create_api_key, grant_program
from campfire.server.demo.annotations import annotate_demo
from campfire.server.ingest.deploy import IngestReport, deploy_products
from campfire.server.ingest.spectrumfile import ContentCache
from campfire.server.storage.filestore import LocalFileStore

__all__ = ["SCALES", "build_demo_archive", "demo_key", "demo_users", "write_demo_users"]

SCALES = ("tiny", "small", "large")


def demo_key(seed: int, email: str) -> str:
    """The demo API key of a user: deterministic in (seed, email).

    Examples
    --------
    >>> demo_key(42, "a@b.c") == demo_key(42, "a@b.c") != demo_key(43, "a@b.c")
    True
    """
    return "sk_live_" + hashlib.sha256(f"campfire-demo-key:{seed}:{email}".encode()).hexdigest()


def build_demo_archive(
    archive_dir: str | os.PathLike[str],
    scale: str = "tiny",
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    database: str | None = None,
    *,
    store: str | None = None,
) -> list[dict[str, Any]]:
    """Generate the demo products, deploy them into ``archive_dir`` and create the demo users.

    Parameters
    ----------
    archive_dir
        Where the archive goes (it must not already hold one).
    scale
        ``tiny``, ``small`` or ``large`` (passed to the generator).
    seed
        Random seed of the generator; also derives the users' API keys.
    progress
        Called with a short message per step.
    database
        The catalog database URL (``postgresql://...``; default: the directory's
        ``archive.db``); it must hold no program yet.
    store
        Write the files into this store (``s3://bucket/prefix``; default: ``<archive>/store``).

    Returns
    -------
    list of dict
        The users: ``email``, ``password``, ``api_key``, ``programs``, ``admin``.

    Raises
    ------
    ValueError
        For an unknown scale, an existing archive, or products that failed to ingest.
    """
    from campfire.server.archive import has_catalog
    from campfire.server.demo.generate import DEMO_USERS, generate_products

    if scale not in SCALES:
        raise ValueError(f"unknown demo scale {scale!r}; choose one of {', '.join(SCALES)}")
    root = Path(archive_dir)
    if has_catalog(root, database):
        raise ValueError(f"{root} already holds an archive; remove it or serve it as it is")
    root.mkdir(parents=True, exist_ok=True)
    work = root / ".demo-products"
    shutil.rmtree(work, ignore_errors=True)
    archive = Archive(root, database=database, store=store)
    try:
        note = progress or (lambda msg: None)
        # users first: the inspections in the products name them, and the ingest credits them
        for spec in DEMO_USERS:
            add_user(
                archive,
                spec["email"],
                spec["password"],
                full_name=spec.get("full_name"),
                admin=bool(spec.get("admin")),
                can_inspect=True,
            )
        note(f"generating {scale} demo products (seed {seed})")
        # the generator tells the cache what each file it writes holds, so the deploy reads
        # none again; the large demo shares one pool of files among all programs
        cache = ContentCache()
        dirs = generate_products(work, scale=scale, seed=seed, contents=cache)
        reports: list[IngestReport] = []
        with _synced_once(archive.store):
            for d in dirs:
                note(f"deploying {Path(d).name}")
                report = deploy_products(d, archive, cache=cache)
                if report.skipped:
                    raise ValueError(f"demo products of {d} failed to ingest: {report.skipped[:3]}")
                reports.append(report)
        slugs = sorted(r.program for r in reports if r.program)
        users = []
        for spec in DEMO_USERS:
            email = spec["email"]
            wanted = spec.get("programs") or []
            grants = (
                slugs if wanted == "*" or wanted == ["*"] else [s for s in wanted if s in slugs]
            )
            for slug in grants:
                grant_program(archive, email, slug)
            key = create_api_key(archive, email, "demo", key=demo_key(seed, email))
            users.append(
                {
                    "email": email,
                    "password": spec["password"],
                    "api_key": key,
                    "programs": list(grants),  # "*" expanded: every program it was granted
                    "admin": bool(spec.get("admin")),
                }
            )
        note("adding comments and lists")
        annotate_demo(archive)
        archive.db.set_meta("demo", json.dumps({"scale": scale, "seed": seed, "users": users}))
    finally:
        archive.close()
        shutil.rmtree(work, ignore_errors=True)
    write_demo_users(root, None)
    return users


def demo_users(archive_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The demo users recorded in an archive built by :func:`build_demo_archive` (else [])."""
    archive = Archive(archive_dir)
    try:
        raw = archive.db.meta("demo")
    finally:
        archive.close()
    return list(json.loads(raw)["users"]) if raw else []


def write_demo_users(archive_dir: str | os.PathLike[str], base_url: str | None) -> Path:
    """Write ``<archive_dir>/demo-users.json`` (``{"base_url", "users"}``) and return its path."""
    path = Path(archive_dir) / "demo-users.json"
    body = {"base_url": base_url, "users": demo_users(archive_dir)}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def _synced_once(store: object) -> Iterator[None]:
    """Write a local store's files without an fsync each, and sync them all once at the end
    (thousands of small files: one fsync each was most of the deploy's time).
    """
    if not isinstance(store, LocalFileStore):
        yield
        return
    store.durable = False
    try:
        yield
        os.sync()
    finally:
        store.durable = True
