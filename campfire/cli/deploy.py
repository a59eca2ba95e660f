"""``campfire deploy``: load pipeline products into an archive, local or remote.

Examples
--------
::

    campfire deploy products/EMBER-UDS --archive ./archive
    campfire deploy products/EMBER-UDS --archive ./archive --database postgresql://db/campfire
    campfire deploy products/EMBER-UDS --archive ./archive --store s3://campfire/prod
    campfire deploy products/EMBER-UDS --base-url http://127.0.0.1:8765/api/v1 --api-key sk_live_...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from campfire.cli.options import database_option, store_option

__all__ = ["deploy"]


def _token(api_key: str | None) -> str:
    """The admin credential: --api-key, CAMPFIRE_API_KEY, or the saved login."""
    from campfire.config import Settings

    settings = Settings.from_env()
    if api_key:
        return api_key
    if settings.api_key:
        return settings.api_key
    try:
        saved = json.loads(settings.credentials_path.read_text())
    except (OSError, ValueError):
        saved = {}
    token = saved.get("api_key") or saved.get("access_token")
    if not token:
        raise click.UsageError(
            "no credentials for the remote archive: pass --api-key, set CAMPFIRE_API_KEY, "
            "or run 'campfire login' first"
        )
    return str(token)


def _show(report: dict[str, Any]) -> None:
    click.echo(
        f"{report.get('program')}: {report['ingested']} spectra ingested, "
        f"{report['unchanged']} unchanged, {report['deleted']} deleted; "
        f"{report['objects_created']} new objects, {report['photometry']} photometry records, "
        f"{report['cutouts']} cutout tiles"
    )
    for item in report["skipped"]:
        click.echo(f"  skipped {item['file']}: {item['reason']}", err=True)


@click.command()
@click.argument(
    "products",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Deploy into this local archive directory (created if missing).",
)
@click.option(
    "--base-url",
    "remote",
    metavar="URL",
    help="Deploy into a running server (base URL including /api/v1); needs an admin.",
)
@click.option("--api-key", default=None, metavar="KEY", help="Admin API key for --base-url.")
@database_option()
@store_option
def deploy(
    products: tuple[Path, ...],
    archive_dir: Path | None,
    remote: str | None,
    api_key: str | None,
    database: str | None,
    store: str | None,
) -> None:
    """Ingest PRODUCTS directories (one program each) into an archive.

    Bad files are reported and skipped (exit status 1); re-deploying unchanged products
    changes nothing.
    """
    if (archive_dir is None) == (remote is None):
        raise click.UsageError("give exactly one of --archive DIR or --base-url URL")
    if store is not None and remote is not None:
        raise click.UsageError(
            "--store goes with --archive: a running server (--base-url) uses its own store"
        )
    from campfire.errors import CampfireError
    from campfire.server.ingest.spectrumfile import ContentCache

    if database is not None and archive_dir is not None:  # the archive's catalog lives there
        from campfire.server.archive import archive_database

        archive_database(archive_dir.expanduser().resolve(), database)

    archive = None
    if archive_dir is not None:
        from campfire.server.archive import Archive

        try:
            archive = Archive(archive_dir, store=store)
        except CampfireError as exc:
            raise click.ClickException(str(exc)) from None
    cache = ContentCache()  # files shared between the PRODUCTS directories are read once
    failed = False
    for folder in products:
        if remote is not None:
            from campfire.server.ingest.uploader import deploy_remote

            try:
                report = deploy_remote(folder, remote, _token(api_key))
            except CampfireError as exc:
                raise click.ClickException(str(exc)) from None
        else:
            from campfire.server.ingest.deploy import deploy_products

            assert archive is not None
            report = deploy_products(folder, archive, cache=cache).to_dict()
        _show(report)
        failed = failed or bool(report["skipped"])
    if archive is not None:
        archive.close()
    if failed:
        raise SystemExit(1)
