"""``campfire sync``: pull the catalog (metadata only) into the local database and CSVs.

Examples
--------
::

    campfire sync          # incremental after the first run
    campfire sync --full   # re-read everything and drop what the archive no longer has

The command runs ``Campfire().sync()``, the same call as in Python, and prints its result.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from campfire.cli.auth import OK, WARN, cli_client, handle_errors


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def version_notice(api: Any) -> str | None:
    """An "update available" or "no longer supported" line when ``/version`` says so.

    Only the archive's ``campfire_client`` versions count: the contract's ``latest`` and
    ``minimum`` number the upstream client, an unrelated package.
    """
    from campfire._version import __version__

    info = api.server_info()
    mine = _version_tuple(__version__)
    if info.client_minimum and mine < _version_tuple(info.client_minimum):
        return (
            f"{WARN} campfire {__version__} is no longer supported by this archive "
            f"(minimum {info.client_minimum}). Run: pip install -U campfire"
        )
    if info.client_latest and mine < _version_tuple(info.client_latest):
        return f"Update available: campfire {info.client_latest} (you have {__version__})."
    return None


class SyncBars:
    """The sync's progress callback: a transient bar per feed on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, feed: str, done: int, total: int) -> None:
        """Move the bar of ``feed`` to ``done`` of ``total`` rows."""
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(feed)
        if bar is None:
            bar = self.bars[feed] = tqdm(total=total or None, desc=feed, leave=False, unit=" rows")
        bar.update(done - bar.n)

    def close(self) -> None:
        """Remove the bars."""
        for bar in self.bars.values():
            bar.close()


def outbox_lines(r: Any) -> None:
    """What the sync sent from the outbox first, what still waits, and the conflicts."""
    from campfire.cli.inspect import conflict_line

    if r["pushed"]:
        click.echo(f"{OK} Sent {r['pushed']} write(s) from the outbox before pulling.")
    if r["outbox_pending"]:
        why = f" ({r['push_error']})" if r["push_error"] else ""
        click.echo(f"{WARN} {r['outbox_pending']} write(s) still wait to be sent{why}.")
    for x in r["rejected"]:
        click.echo(
            f"{WARN} The archive refused {x['kind']} of {x['target']}: {x['error']}. It was "
            "undone locally."
        )
    if r["conflicts"]:
        click.echo(
            f"{WARN} {len(r['conflicts'])} conflict(s): someone changed these first; nothing of "
            "theirs was overwritten:"
        )
        for c in r["conflicts"]:
            click.echo(conflict_line(c))
        click.echo("Keep yours: campfire inspect ID --keep mine; take theirs: --keep theirs.")


@click.command()
@click.option("--full", is_flag=True, help="Re-read the whole catalog and purge removed rows.")
@click.pass_context
@handle_errors
def sync(ctx: click.Context, full: bool) -> None:
    """Sync the object/spectra catalog (metadata only; no FITS files).

    Fetches all objects and spectra you have access to, upserts them into the local SQLite
    database, exports objects.csv, spectra.csv and photometry.csv, and detects local files
    that were reprocessed on the server. A catalog of an older or newer schema version is
    rebuilt (the reason is printed), as cf.sync() does. Writes waiting in the outbox
    (inspections, flags, comments, tags) are sent first; conflicts are listed.
    """
    cf = cli_client(ctx)
    click.echo("Syncing catalog...")
    bars = SyncBars(enabled=sys.stderr.isatty())
    try:
        r = cf.sync(full=full, progress=bars)
    finally:
        bars.close()
    click.echo(
        f"{OK} Synced {r['observations']} observations, {r['objects']} objects, "
        f"{r['spectra']} spectra"
    )
    removed = r["objects_purged"] + r["spectra_purged"]
    if removed:
        click.echo(
            f"Removed {r['objects_purged']} object(s) and {r['spectra_purged']} spectra no longer "
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
    outbox_lines(r)
    notice = version_notice(cf.api)
    if notice:
        click.echo(notice)
