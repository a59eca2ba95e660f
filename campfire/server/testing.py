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

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["RunningServer", "running_server", "server_process"]


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

    Yields
    ------
    RunningServer
        URLs, demo users and the fault switch.
    """
    import uvicorn

    from campfire.server.app import create_app

    archive_dir = Path(archive_dir)
    app = create_app(archive_dir, faults=faults, rate_limit=rate_limit)
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


@contextmanager
def server_process(
    archive_dir: str | os.PathLike[str], *args: str, timeout: float = 120.0
) -> Iterator[RunningServer]:
    """Run ``campfire serve --archive DIR --port 0 ARGS...`` as a separate process.

    For tests of what one in-thread server cannot show: several processes on one archive
    (``--workers N``, or two of these side by side). Stopped with SIGTERM (the whole process
    group, workers included) when the block ends.

    Parameters
    ----------
    archive_dir
        An archive directory.
    *args
        More ``campfire serve`` options, e.g. ``"--workers", "2"``.
    timeout
        Seconds to wait for the server to print its URL.

    Yields
    ------
    RunningServer
        URLs and demo users (``app`` is None: the app lives in the other process, and the
        fault switch is off).

    Examples
    --------
    >>> with server_process("archive/", "--workers", "2") as srv:  # doctest: +SKIP
    ...     requests.get(srv.base_url + "/version").ok
    True
    """
    import signal
    import subprocess
    import sys

    archive_dir = Path(archive_dir)
    cmd = [sys.executable, "-m", "campfire", "serve", "--archive", str(archive_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*cmd, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # drained to the end, so the server never blocks on a pipe
            lines.append(line)
            if not found and line.startswith("Serving ") and " at " in line:
                found.append(line.split(" at ")[1].split()[0])

    reader = threading.Thread(target=read, name="campfire-serve-output", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while not found:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"campfire serve did not start: {''.join(lines)[-2000:]}")
            time.sleep(0.02)
        base_url = found[0]
        _wait_until_answering(base_url, deadline)
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        yield RunningServer(port, archive_dir.resolve(), None, False)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        reader.join(timeout=5)


def _wait_until_answering(base_url: str, deadline: float) -> None:
    """Wait for ``/version`` to answer (workers start after the URL is printed)."""
    import requests

    while True:
        try:
            if requests.get(base_url + "/version", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not answer in time")
        time.sleep(0.05)
