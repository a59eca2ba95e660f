"""``campfire status``: credentials, catalog and download state at a glance.

Examples
--------
::

    campfire status
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from campfire.cli.auth import FAIL, OK, WARN, cli_client, handle_errors


def _check_credentials(cf: Any) -> None:
    from campfire.errors import AuthenticationError, CampfireError, OfflineError

    try:
        user = cf.api.whoami()
    except OfflineError:
        click.echo(f"{WARN} Offline (CAMPFIRE_OFFLINE=1): credentials not checked")
        return
    except AuthenticationError as exc:
        click.echo(f"{FAIL} {exc.message}")
        return
    except CampfireError as exc:
        click.echo(f"{WARN} Could not check credentials: {exc.message}")
        return
    click.echo(f"{OK} Credentials valid")
    click.echo(f"User: {user.get('email') or 'unknown'}")


def _local_time(iso: str | None) -> str:
    if not iso:
        return "never"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _disk_usage(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


@click.command()
@click.pass_context
@handle_errors
def status(ctx: click.Context) -> None:
    """Check credentials, catalog, and download status."""
    from campfire.cli.download import print_table
    from campfire.download.result import format_size

    cf = cli_client(ctx)
    _check_credentials(cf)
    click.echo(f"Data directory: {os.path.abspath(cf.data_dir)}")  # as typed may be relative
    if not cf.is_local:
        click.echo("Catalog: not synced yet. Run: campfire sync")
        return
    reader = cf.reader
    n_obs = reader.observation_count()
    click.echo(f"Catalog: {n_obs} observations (last synced {_local_time(cf.last_synced)})")
    summary = [o for o in reader.observation_summary() if o["local"]]
    stale = len(reader.stale_files())
    if summary:
        click.echo("")
        rows = [["OBSERVATION", "DOWNLOADED", "SIZE"]]
        rows += [
            [o["observation"] or "", str(o["local"]), format_size(o["local_bytes"])]
            for o in summary
        ]
        print_table(rows)
        click.echo("")
    if stale:
        click.echo(
            f"{WARN} {stale} local file(s) updated on server. Run: campfire download --stale"
        )
    click.echo(f"Disk usage: {format_size(_disk_usage(cf.data_dir))}")
