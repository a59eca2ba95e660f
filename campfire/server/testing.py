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

__all__ = ["ArchiveBackend", "RunningServer", "TestPostgres", "running_server", "server_process"]


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
    database: str | None = None,
    store: str | None = None,
    hand_off_after: float | None = None,
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
    database
        The catalog database URL (default: the archive directory's own).
    store
        The archive's file store URL (``s3://bucket/prefix``; default: as the archive has it).
    hand_off_after
        Close connections after requests longer than this (as ``--workers N`` does).

    Yields
    ------
    RunningServer
        URLs, demo users and the fault switch.
    """
    import uvicorn

    from campfire.server.app import create_app

    archive_dir = Path(archive_dir)
    app = create_app(
        archive_dir, faults=faults, rate_limit=rate_limit, database=database, store=store,
        hand_off_after=hand_off_after,
    )  # fmt: skip
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


class TestPostgres:
    """A throwaway PostgreSQL cluster on loopback for a test session or a benchmark.

    It runs the Debian binaries (``/usr/lib/postgresql/<version>/bin``) in a temporary folder,
    as the ``postgres`` user when we are root (``initdb`` refuses root), with durability off
    (``fsync=off``: the data is thrown away). :meth:`create` makes a database, optionally as a
    copy of a template (``CREATE DATABASE ... TEMPLATE``, a file copy: fast).

    Examples
    --------
    >>> with TestPostgres() as pg:  # doctest: +SKIP
    ...     url = pg.create("t1")
    """

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        import tempfile

        self.bin = _postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="campfire-pg-"))
        self.port = _free_port()
        self._proc: Any = None
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, dbname: str = "postgres") -> str:
        """The URL of a database in this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> TestPostgres:
        """Initdb and start the server; wait until it accepts connections."""
        import shutil
        import subprocess

        if self._as:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        subprocess.run(
            [*self._as, str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "-A",
             "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        opts = [
            f"port={self.port}", "listen_addresses=127.0.0.1",
            f"unix_socket_directories={self.dir}", "fsync=off", "synchronous_commit=off",
            "full_page_writes=off", "max_connections=400", "shared_buffers=64MB",
        ]  # fmt: skip
        args = [str(self.bin / "postgres"), "-D", str(data)]
        for o in opts:
            args += ["-c", o]
        log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 (kept for the process)
        self._proc = subprocess.Popen([*self._as, *args], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                self._admin("SELECT 1")
                return self
            except Exception:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.dir / "postgres.log").read_text()[-2000:]
                    raise RuntimeError(f"PostgreSQL did not start:\n{tail}") from None
                time.sleep(0.1)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given); return its URL."""
        tmpl = f" TEMPLATE {template}" if template else ""
        self._admin(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        import shutil
        import signal
        import subprocess

        if self._proc is not None:
            # pg_ctl as the server's user (a signal to runuser need not reach postgres)
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast",
                 "-w", "-t", "30", "stop"],
                capture_output=True, check=False,
            )  # fmt: skip
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.send_signal(signal.SIGKILL)
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TestPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts)
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run "
            "`make install`, which installs the Debian package postgresql"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ArchiveBackend:
    """Where a test's archives keep their catalog: ``embedded`` (SQLite in the archive folder)
    or ``postgres`` (a database of a :class:`TestPostgres` cluster per archive); a name ending
    in ``+s3`` (``postgres+s3``) also keeps each copy's files in a fresh bucket of the S3
    endpoint ``s3_endpoint`` (credentials from the AWS environment) instead of ``store/``.

    :meth:`database` names the database for a new archive; :meth:`copy` copies an archive
    folder, and on PostgreSQL its database too (``CREATE DATABASE ... TEMPLATE``; an embedded
    source is first copied into a template database once, by
    :func:`~campfire.server.storage.transfer.copy_database`).

    Examples
    --------
    >>> ArchiveBackend("embedded").database("x") is None
    True
    """

    __test__ = False

    def __init__(
        self, name: str, cluster: TestPostgres | None = None, s3_endpoint: str | None = None
    ) -> None:
        if name != "embedded" and cluster is None:
            raise ValueError(f"the {name} backend needs a PostgreSQL cluster")
        if name.endswith("+s3") and s3_endpoint is None:
            raise ValueError(f"the {name} backend needs an S3 endpoint")
        self.s3_endpoint = s3_endpoint if name.endswith("+s3") else None
        self.name = name
        self.cluster = cluster
        self._templates: dict[Path, str] = {}
        self._count = 0

    def _name(self, label: str) -> str:
        self._count += 1
        safe = "".join(c if c.isalnum() else "_" for c in label.lower())[:40]
        return f"{safe}_{self._count}_{os.getpid()}"

    def database(self, label: str = "archive") -> str | None:
        """A new empty database's URL (None: the archive folder's own SQLite file)."""
        if self.cluster is None:
            return None
        return self.cluster.create(self._name(label))

    def copy(self, src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
        """Copy archive folder ``src`` to ``dest`` with a private copy of its database."""
        import shutil

        src, dest = Path(src), Path(dest)
        if self.cluster is None:
            shutil.copytree(src, dest)
            return dest
        template = self._template(src)
        skip = ["archive.db*", "database.url"] + (["store"] if self.s3_endpoint else [])
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*skip))
        from campfire.server.archive import archive_database

        archive_database(dest, self.cluster.create(self._name(dest.parent.name), template))
        if self.s3_endpoint is not None:
            self._to_bucket(src / "store", dest)
        return dest

    def store(self) -> str | None:
        """A fresh bucket's store URL (None: the archive folder's own ``store/``)."""
        if self.s3_endpoint is None:
            return None
        import uuid

        import boto3

        bucket = f"cf-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.s3_endpoint).create_bucket(Bucket=bucket)
        return f"s3://{bucket}/archive"

    def _to_bucket(self, files: Path, dest: Path) -> None:
        """Copy the local store ``files`` into a fresh bucket and bind archive ``dest`` to it."""
        from campfire.server.archive import Archive
        from campfire.server.storage.filestore import LocalFileStore
        from campfire.server.storage.storeurl import copy_store, open_store

        url = self.store()
        assert url is not None
        copy_store(LocalFileStore(files), open_store(url, default=""))
        Archive(dest, store=url).close()  # the archive remembers its store

    def _template(self, src: Path) -> str:
        from campfire.server.archive import DATABASE_FILE
        from campfire.server.storage.database import Database
        from campfire.server.storage.transfer import copy_database

        assert self.cluster is not None
        pointer = src / DATABASE_FILE
        if pointer.is_file():  # already on PostgreSQL: its database is the template
            return pointer.read_text().strip().rsplit("/", 1)[-1]
        if src not in self._templates:
            import shutil
            import tempfile

            name = self._name("tmpl_" + src.parent.name)
            work = Path(tempfile.mkdtemp(prefix="campfire-tmpl-"))
            for part in ("archive.db", "archive.db-wal"):  # the source stays untouched
                if (src / part).is_file():
                    shutil.copy2(src / part, work / part)
            source, target = Database(work / "archive.db"), Database(self.cluster.create(name))
            try:
                copy_database(source, target)
                target.conn().execute("ANALYZE")
            finally:
                source.close()
                target.close()
                shutil.rmtree(work, ignore_errors=True)
            self._templates[src] = name
        return self._templates[src]

    def __repr__(self) -> str:
        return f"ArchiveBackend({self.name!r})"
