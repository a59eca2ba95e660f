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

from campfire.cli.auth import FAIL, OK, WARN, cli_api, cli_settings, handle_errors


def _check_credentials(settings: Any) -> None:
    from campfire.errors import AuthenticationError, CampfireError, OfflineError

    try:
        user = cli_api(settings).whoami()
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
    from campfire.cli.sync import open_store
    from campfire.download.run import format_size, observation_summary
    from campfire.errors import NotFoundError

    settings = cli_settings(ctx)
    _check_credentials(settings)
    click.echo(f"Data directory: {settings.data_dir}")
    try:
        store = open_store(settings, create=False)
    except NotFoundError:
        click.echo("Catalog: not synced yet. Run: campfire sync")
        return
    with store:
        n_obs = store.observation_count()
        click.echo(f"Catalog: {n_obs} observations (last synced {_local_time(store.last_sync_at)})")
        summary = [o for o in observation_summary(store) if o["local"]]
        stale = len(store.stale_files())
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
    click.echo(f"Disk usage: {format_size(_disk_usage(settings.data_dir))}")
