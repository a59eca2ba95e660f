"""A demo archive served by ``campfire serve`` in its own process, for the benchmarks.

The server runs in a subprocess so it does not share the benchmark's GIL; the archive is built
once under ``.demo/`` and reused by later runs. Used by ``bench_sync.py`` and
``bench_download.py`` (the tiny archive in quick mode, the small and large ones in full mode).

Examples
--------
>>> with Served(ensure_archive(Path(".demo/small"), "small")) as srv:  # doctest: +SKIP
...     api = srv.api()
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient


def ensure_archive(path: Path, scale: str) -> Path:
    """Build the ``scale`` demo archive at ``path`` unless one is there; return ``path``."""
    from campfire.server.archive import is_archive
    from campfire.server.demo.archive import build_demo_archive

    if not is_archive(path):
        print(f"building the {scale} demo archive in {path} (once; this takes a while)...")
        t0 = time.perf_counter()
        shutil.rmtree(path, ignore_errors=True)
        build_demo_archive(path, scale=scale, seed=42)
        print(f"  built in {time.perf_counter() - t0:.0f} s")
    return path


class Served:
    """``campfire serve`` on a free loopback port, in its own process."""

    def __init__(self, archive: Path) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{port}/api/v1"
        self.users = json.loads((archive / "demo-users.json").read_text())["users"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "campfire", "serve", "--archive", str(archive), "--port",
             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> Served:
        import requests

        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(self.base_url + "/version", timeout=1).raise_for_status()
                return self
            except requests.RequestException:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the archive server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    def user(self, email: str) -> dict[str, Any]:
        """The demo user with this email (``email``, ``password``, ``api_key`` …)."""
        return next(u for u in self.users if u["email"] == email)

    def api(self, email: str = "alice@campfire.demo") -> ApiClient:
        """An :class:`ApiClient` for this server, logged in with the user's API key."""
        from campfire.archive.api import ApiClient
        from campfire.archive.auth import ApiKeyProvider
        from campfire.config import Settings

        settings = Settings.from_env({"CAMPFIRE_API_URL": self.base_url})
        return ApiClient(settings, ApiKeyProvider(self.user(email)["api_key"]))
