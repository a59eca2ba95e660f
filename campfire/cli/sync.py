"""``campfire sync``: pull the catalog (metadata only) into the local database and CSVs.

Examples
--------
::

    campfire sync          # incremental after the first run
    campfire sync --full   # re-read everything and drop what the archive no longer has
"""

from __future__ import annotations

import sys
from typing import Any

import click

from campfire.cli.auth import OK, WARN, cli_api, cli_settings, handle_errors


def open_store(settings: Any, *, rebuild: bool = False, create: bool = True) -> Any:
    """The local catalog; with ``rebuild`` an incompatible one is replaced by an empty one."""
    from campfire.catalog.store import Store
    from campfire.errors import SchemaError

    try:
        return Store(settings.db_path, create=create)
    except SchemaError:
        if not rebuild:
            raise
        return Store.rebuild(settings.db_path)


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def version_notice(api: Any) -> str | None:
    """An "update available" or "no longer supported" line when ``/version`` says so."""
    from campfire._version import __version__

    info = api.server_info()
    mine = _version_tuple(__version__)
    if info.minimum and mine < _version_tuple(info.minimum):
        return (
            f"{WARN} campfire {__version__} is no longer supported by this archive "
            f"(minimum {info.minimum}). Run: pip install -U campfire"
        )
    if info.latest and mine < _version_tuple(info.latest):
        return f"Update available: campfire {info.latest} (you have {__version__})."
    return None


def run_sync(api: Any, store: Any, *, full: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Run a sync with a transient progress bar on a terminal; return the result."""
    from tqdm import tqdm

    from campfire.sync.engine import sync_catalog

    bars: dict[str, Any] = {}
    show = not quiet and sys.stderr.isatty()

    def progress(feed: str, done: int, total: int) -> None:
        if not show:
            return
        bar = bars.get(feed)
        if bar is None:
            bar = bars[feed] = tqdm(total=total or None, desc=feed, leave=False, unit=" rows")
        bar.update(done - bar.n)

    try:
        return sync_catalog(api, store, full=full, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()


def build_snapshot(db_path: Any) -> str | None:
    """Build the DuckDB query snapshot of a synced catalog, as ``cf.sync()`` does, so the
    first query after ``campfire sync`` is fast; return a message if it could not be built.
    """
    from campfire.catalog.engine import Catalog

    cat = Catalog(db_path)
    try:
        cat.refresh()
    except Exception as exc:  # the sync itself succeeded; the first query builds it instead
        return f"The query snapshot was not built ({exc}); the first query will build it."
    finally:
        cat.close()
    return None


@click.command()
@click.option("--full", is_flag=True, help="Re-read the whole catalog and purge removed rows.")
@click.pass_context
@handle_errors
def sync(ctx: click.Context, full: bool) -> None:
    """Sync the object/spectra catalog (metadata only; no FITS files).

    Fetches all objects and spectra you have access to, upserts them into the local SQLite
    database, exports objects.csv, spectra.csv and photometry.csv, and detects local files
    that were reprocessed on the server.
    """
    settings = cli_settings(ctx)
    api = cli_api(settings)
    click.echo("Syncing catalog...")
    with open_store(settings, rebuild=full) as store:
        r = run_sync(api, store, full=full)
    problem = build_snapshot(settings.db_path)
    if problem:
        click.echo(f"{WARN} {problem}", err=True)
    click.echo(
        f"{OK} Synced {r['observations']} observations, {r['objects']} objects, "
        f"{r['spectra']} spectra"
    )
    removed = r["objects_purged"] + r["purged_spectra"]
    if removed:
        click.echo(
            f"Removed {r['objects_purged']} object(s) and {r['purged_spectra']} spectra no longer "
            "in the archive or no longer accessible to you."
        )
    if r["orphaned_files"]:
        click.echo(
            f"{WARN} {len(r['orphaned_files'])} downloaded file(s) belong to removed spectra; "
            "they were left in place."
        )
    if r["missing_files"]:
        click.echo(
            f"{WARN} {r['missing_files']} downloaded file(s) were missing or changed on disk; "
            "campfire download will fetch them again."
        )
    if r["stale_count"]:
        click.echo(f"{WARN} {r['stale_count']} local file(s) have been updated on the server.")
        click.echo("Run: campfire download --stale")
    notice = version_notice(api)
    if notice:
        click.echo(notice)
