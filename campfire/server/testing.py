"""Run the real archive server on loopback for tests: :func:`running_server`.

The server runs uvicorn in a background thread on ``127.0.0.1`` and a free port, over a real
archive directory; faults are injected by the server itself (``faults=True``), never mocked.

Examples
--------
>>> with running_server("archive/", faults=True) as srv:  # doctest: +SKIP
...     srv.set_faults([{"path": "/sync/objects", "kind": "status", "status": 503}])
...     requests.get(srv.base_url + "/sync/objects", headers=srv.auth_headers(0)).status_code
503
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["RunningServer", "running_server"]


class RunningServer:
    """A live server: its URLs, demo users and the fault switch.

    Attributes
    ----------
    base_url
        ``http://127.0.0.1:PORT/api/v1`` (``https://`` when started with a certificate).
    root_url
        ``http://127.0.0.1:PORT`` (or ``https://``).
    archive_dir
        The archive directory it serves.
    users
        The demo users (``email``, ``password``, ``api_key``, ``programs``, ``admin``) from
        ``demo-users.json``, or ``[]``.
    app
        The Starlette app (``app.state.archive`` is the open archive).
    """

    def __init__(
        self, port: int, archive_dir: Path, app: Any, faults: bool, scheme: str = "http"
    ) -> None:
        self.port = port
        self.root_url = f"{scheme}://127.0.0.1:{port}"
        self.base_url = self.root_url + "/api/v1"
        self.archive_dir = archive_dir
        self.app = app
        self._faults = faults
        users_file = archive_dir / "demo-users.json"
        self.users: list[dict[str, Any]] = (
            json.loads(users_file.read_text()).get("users", []) if users_file.is_file() else []
        )

    def user(self, email_or_index: str | int) -> dict[str, Any]:
        """A demo user by index or email."""
        if isinstance(email_or_index, int):
            return self.users[email_or_index]
        return next(u for u in self.users if u["email"] == email_or_index)

    def auth_headers(self, user: str | int | dict[str, Any]) -> dict[str, str]:
        """``Authorization`` header for a demo user's API key."""
        u = user if isinstance(user, dict) else self.user(user)
        return {"Authorization": f"Bearer {u['api_key']}"}

    def _faults_request(self, method: str, body: Any = None) -> list[dict[str, Any]]:
        import requests

        if not self._faults:
            raise RuntimeError(
                "start the server with running_server(..., faults=True) to inject faults"
            )
        r = requests.request(method, self.base_url + "/_test/faults", json=body, timeout=10)
        r.raise_for_status()
        rules: list[dict[str, Any]] = r.json()["rules"]
        return rules

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """Install fault rules (see :mod:`campfire.server.http.faults`), replacing earlier ones."""
        self._faults_request("POST", {"rules": rules})

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._faults_request("DELETE")

    def faults(self) -> list[dict[str, Any]]:
        """The installed rules with their hit counts."""
        return self._faults_request("GET")

    def __repr__(self) -> str:
        return f"RunningServer({self.base_url!r}, archive={str(self.archive_dir)!r})"


@contextmanager
def running_server(
    archive_dir: str | os.PathLike[str],
    *,
    faults: bool = False,
    rate_limit: int | None = None,
    ssl_certfile: str | os.PathLike[str] | None = None,
    ssl_keyfile: str | os.PathLike[str] | None = None,
    store: str | None = None,
) -> Iterator[RunningServer]:
    """Serve ``archive_dir`` on ``127.0.0.1`` (a free port) for the duration of the block.

    Parameters
    ----------
    archive_dir
        An archive directory (e.g. built by ``build_demo_archive``).
    faults
        Enable ``/api/v1/_test/faults`` (``set_faults``/``clear_faults``).
    rate_limit
        Requests per minute per caller (the ``rate-limit`` extension); None for no limit.
    ssl_certfile, ssl_keyfile
        Serve HTTPS with this certificate chain and key (PEM files), as uvicorn does.
    store
        The archive's file store URL (``s3://bucket/prefix``; default: as the archive has it).

    Yields
    ------
    RunningServer
        URLs, demo users and the fault switch.
    """
    import uvicorn

    from campfire.server.app import create_app

    archive_dir = Path(archive_dir)
    app = create_app(archive_dir, faults=faults, rate_limit=rate_limit, store=store)
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=5,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"campfire-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if errors or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the archive server failed to start: {errors[:1]}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the archive server did not start within 30 s")
        time.sleep(0.01)
    try:
        scheme = "https" if ssl_certfile else "http"
        yield RunningServer(port, archive_dir.resolve(), app, faults, scheme)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
