"""``campfire serve``: run the reference archive server over an archive directory.

Examples
--------
::

    campfire serve --archive ./archive                 # http://127.0.0.1:8765/api/v1
    campfire serve --demo --scale small --port 0       # build the demo if needed, any free port
    campfire serve --archive ./archive --workers 4     # four server processes on one port
    campfire serve --archive ./archive --database postgresql://campfire@db:5432/campfire
    campfire serve --demo --store s3://bucket/demo     # the demo's files in an S3 bucket

With ``--workers N`` above 1, uvicorn's supervisor starts N worker processes (started afresh,
not forked) that accept connections on the one listening socket and restarts any that dies.
The server keeps no state in a process (rate limits, login throttles, device codes and web
sessions are in the database), so the workers answer as one server.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from campfire.cli.options import (
    archive_option,
    bounded_int_option,
    database_option,
    store_option,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["serve", "worker_app"]

#: how ``--workers`` hands ``create_app``'s keyword arguments to its worker processes (JSON)
WORKER_ENV = "CAMPFIRE_SERVE_APP"
#: with several workers, a request longer than this closes its connection (server/http/handoff)
HAND_OFF_SECONDS = 0.05


def _log_to_stderr() -> None:
    """The server's log (one JSON access line per request, warnings) on stderr."""
    import logging

    logger = logging.getLogger("campfire.server")
    if not any(getattr(h, "_campfire_serve", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._campfire_serve = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _prepare(
    archive_dir: Path, database: str | None, store: str | None, demo: bool, scale: str, seed: int
) -> None:
    """Build the demo when asked and the archive holds none; bind ``database`` to the folder."""
    from campfire.server.archive import archive_database, has_catalog

    if not has_catalog(archive_dir, database):
        if not demo and database is None:
            raise click.UsageError(
                f"{archive_dir} holds no archive. Deploy products into it with "
                f"'campfire deploy PRODUCTS --archive {archive_dir}', or add --demo to build the "
                "demo archive there."
            )
        if demo:
            from campfire.server.demo.archive import build_demo_archive

            click.echo(f"Building the {scale} demo archive in {archive_dir} ...")
            build_demo_archive(
                archive_dir,
                scale=scale,
                seed=seed,
                progress=lambda msg: click.echo(f"  {msg}"),
                database=database,
                store=store,
            )
    if database is not None:  # later commands on this directory find the same database
        archive_database(Path(archive_dir).expanduser().resolve(), database)


@click.command()
@archive_option("Archive directory (archive.db + store/).")
@database_option()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@bounded_int_option("--port", 8765, 0, 65535, "Port; 0 takes a free one.")
@click.option("--demo", is_flag=True, help="Build the demo archive first if DIR holds none.")
@click.option(
    "--scale",
    type=click.Choice(["tiny", "small", "large"]),
    default="small",
    show_default=True,
    help="Demo size (with --demo).",
)
@click.option("--seed", default=42, show_default=True, help="Demo random seed (with --demo).")
@click.option(
    "--rate-limit",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Limit each API key or user to N requests per minute (default: no limit).",
)
@bounded_int_option(
    "--workers",
    1,
    1,
    64,
    "Server processes sharing the port (they share all state through the database).",
)
def serve(
    archive_dir: Path,
    database: str | None,
    store: str | None,
    host: str,
    port: int,
    demo: bool,
    scale: str,
    seed: int,
    rate_limit: int | None,
    workers: int,
) -> None:
    """Serve an archive at http://HOST:PORT/api/v1 until interrupted."""
    import uvicorn

    from campfire.errors import CampfireError
    from campfire.server.app import create_app

    try:
        _prepare(archive_dir, database, store, demo, scale, seed)
    except CampfireError as exc:
        raise click.ClickException(str(exc)) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise click.UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror}); "
            "pick another --port (0 takes a free one)"
        ) from None
    sock.listen(2048)  # accept (queue) connections from now on, before uvicorn starts
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown}:{bound}/api/v1"
    if demo:
        from campfire.server.demo.archive import demo_users, write_demo_users

        path = write_demo_users(archive_dir, base_url)
        click.echo("Demo users (also in " + str(path) + "):")
        for u in demo_users(archive_dir):
            progs = u["programs"] if isinstance(u["programs"], str) else ",".join(u["programs"])
            click.echo(
                f"  {u['email']:<28} password {u['password']:<14} "
                f"programs {progs or 'public only'}{'  (admin)' if u['admin'] else ''}"
            )
            click.echo(f"    api key {u['api_key']}")
    _log_to_stderr()
    app_args: dict[str, Any] = {
        "archive_dir": str(archive_dir),
        "rate_limit": rate_limit,
        "store": store,
    }
    click.echo(f"Serving {Path(archive_dir).resolve()} at {base_url}  (Ctrl-C to stop)")
    click.echo(f"  export CAMPFIRE_API_URL={base_url}")
    if workers == 1:
        try:
            app = create_app(**app_args)
        except CampfireError as exc:
            raise click.ClickException(str(exc)) from None
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, timeout_graceful_shutdown=5
        )
        uvicorn.Server(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    from campfire.server.archive import Archive

    try:  # migrations run here, once, before any worker opens it
        Archive(archive_dir, store=store).close()
    except CampfireError as exc:
        raise click.ClickException(str(exc)) from None
    # a long request's connection is closed after it, so keep-alive clients spread over the
    # workers instead of staying where they were first accepted (server/http/handoff.py)
    os.environ[WORKER_ENV] = json.dumps({**app_args, "hand_off_after": HAND_OFF_SECONDS})
    click.echo(f"  {workers} worker processes")
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    Multiprocess(config, sockets=[sock]).run()


def worker_app() -> Starlette:
    """The app of one ``--workers`` process, built from ``$CAMPFIRE_SERVE_APP`` (JSON of
    :func:`~campfire.server.app.create_app`'s keyword arguments, set by ``campfire serve``).

    Examples
    --------
    >>> os.environ[WORKER_ENV] = '{"archive_dir": "archive"}'  # doctest: +SKIP
    >>> worker_app().state.archive  # doctest: +SKIP
    Archive('/home/me/archive')
    """
    from campfire.server.app import create_app

    _log_to_stderr()
    return create_app(**json.loads(os.environ[WORKER_ENV]))
