"""A bounded soak (issue #13): four clients sync and download for about a minute while the
server injects 5xx, 429, truncated, dropped, corrupted and stalled answers.

The server runs in its own process (so its memory is its own) over a copy of the tiny demo
archive, logging every request (the access log) to a file. Afterwards, with the faults gone,
each client runs once more. Then:

* no 5xx was answered that the fault switch did not inject (the access log's routed 5xx, and
  the server's "internal error" lines, are both zero);
* every file of the plan is on disk and hashes to the catalog's SHA-256 (none missing, none
  corrupt);
* the server's resident memory grew by less than 10% from after the warm-up to the end;
* no client call failed with anything but a :class:`~campfire.errors.CampfireError`.

The figures (requests, injected faults, files verified, RSS before and after) are printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.config import Settings
from campfire.download.plan import plan_downloads
from campfire.download.run import download
from campfire.errors import CampfireError
from campfire.sync.engine import sync_local_catalog

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc"),
]

SOAK_SECONDS = float(os.environ.get("CAMPFIRE_SOAK_SECONDS", "40"))
#: the same weather before RSS is first taken: worker threads, their SQLite page caches and
#: the server's bounded caches fill in this time (measured: RSS plateaus after ~30 s of load)
WARMUP_SECONDS = 30.0
CLIENTS = ("alice", "bob", "carol", "alice")
SERVER = """
import logging, sys
from campfire.server.testing import running_server
fmt = "%(name)s %(levelname)s %(message)s"
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=fmt)
with running_server(sys.argv[1], faults=True) as srv:
    print(srv.base_url, flush=True)
    sys.stdin.read()
"""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _label(rule: dict) -> str:
    return f"status {rule['status']}" if rule["kind"] == "status" else rule["kind"]


def fault_set(rng: random.Random) -> list[dict]:
    """A few rules, each good for a few requests: the next fault weather."""
    choices = [
        {"path": "/sync/", "kind": "status", "status": rng.choice([500, 502, 503]), "times": 2},
        {"path": "/sync/", "kind": "rate_limit", "retry_after": 1, "times": 2},
        {"path": "/files/", "kind": "status", "status": 503, "times": 2},
        {"path": "/files/", "kind": "truncate", "after_bytes": rng.randint(500, 60000), "times": 3},
        {"path": "/files/", "kind": "drop", "after_bytes": rng.randint(500, 60000), "times": 3},
        {"path": "/files/", "kind": "corrupt", "after_bytes": rng.randint(0, 20000), "times": 2},
        {"path": "/files/", "kind": "stall", "after_bytes": 4096, "stall_seconds": 1.0, "times": 2},
        {"path": "/files/", "kind": "rate_limit", "retry_after": 1, "times": 2},
        {"path": "/observations/", "kind": "status", "status": 503, "times": 1},
        {"path": "/sync/spectra", "kind": "stall", "stall_seconds": 1.0, "times": 1},
    ]
    return rng.sample(choices, 3)


class Client:
    """One user's data directory, syncing and downloading everything it may see."""

    def __init__(self, base_url: str, key: str, root: Path, seed: int) -> None:
        settings = Settings.from_env().with_overrides(base_url=base_url, data_dir=root)
        retry = RetryPolicy(retries=4, backoff=0.05, jitter=0.5)
        self.api = ApiClient(settings, ApiKeyProvider(key), retry=retry)
        self.db = settings.db_path
        self.rng = random.Random(seed)
        self.rounds = 0
        self.failed_files = 0  # files a round gave up on (fetched again by a later round)
        self.errors: list[str] = []  # CampfireErrors met under faults (expected)
        self.crashes: list[str] = []  # anything else (a bug)

    def round(self, stall_timeout: float = 10.0, forget: bool = True) -> None:
        try:
            sync_local_catalog(self.api, self.db, full=self.rng.random() < 0.2)
            with Store(self.db) as store:
                plan = plan_downloads(store, all=True)
                done = download(self.api, store, plan, workers=3, stall_timeout=stall_timeout)
                self.failed_files += done.failed
                if forget:
                    self._forget_some(store)
        except CampfireError as exc:
            self.errors.append(type(exc).__name__)
        except Exception as exc:  # a traceback a user would see
            self.crashes.append(f"{type(exc).__name__}: {exc}")
        self.rounds += 1

    def _forget_some(self, store: Store) -> None:
        """Delete a few downloaded files, so the next round fetches them again."""
        rows = store.conn.execute(
            "SELECT local_path FROM spectra WHERE local_path IS NOT NULL"
        ).fetchall()
        for (rel,) in self.rng.sample(rows, min(len(rows), 8)):
            (store.products_dir / rel).unlink(missing_ok=True)

    def verify(self) -> tuple[int, list[str]]:
        """Files checked, and what is missing or corrupt."""
        bad = []
        with Store(self.db) as store:
            rows = store.conn.execute(
                "SELECT spectrum_id, local_path, file_hash FROM spectra"
            ).fetchall()
            products = store.products_dir
        for sid, rel, want in rows:
            if rel is None:
                bad.append(f"{sid}: not downloaded")
                continue
            path = products / rel
            if not path.is_file():
                bad.append(f"{sid}: missing")
            elif "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() != want:
                bad.append(f"{sid}: corrupt")
        return len(rows), bad


def test_four_clients_under_fault_weather_for_a_minute(copy_tiny_archive, tmp_path, capsys):
    archive = copy_tiny_archive(tmp_path / "archive")
    users = {u["email"].split("@")[0]: u for u in json.loads(
        (archive / "demo-users.json").read_text())["users"]}  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(archive)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://"), "the soak server did not start"
        clients = [
            Client(base_url, users[name]["api_key"], tmp_path / f"client{i}", seed=i)
            for i, name in enumerate(CLIENTS)
        ]
        for c in clients:  # first sync and download, no faults
            c.round()
        assert not any(c.errors or c.crashes for c in clients), [c.errors for c in clients]

        stop = threading.Event()
        injected: Counter[str] = Counter()

        def weather() -> None:
            rng = random.Random(13)
            faults = base_url + "/_test/faults"
            while not stop.is_set():
                old = requests.get(faults, timeout=10).json()["rules"]
                injected.update(_label(r) for r in old for _ in range(r["hits"]))
                requests.post(faults, json={"rules": fault_set(rng)}, timeout=10)
                stop.wait(1.0)
            old = requests.delete(faults, timeout=10).json()["rules"]
            injected.update(_label(r) for r in old for _ in range(r["hits"]))

        def work(c: Client) -> None:
            while not stop.is_set():
                c.round()

        threads = [threading.Thread(target=weather)]
        threads += [threading.Thread(target=work, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        time.sleep(WARMUP_SECONDS)
        rss_before = rss_bytes(proc.pid)
        started = time.monotonic()
        time.sleep(SOAK_SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        soaked = time.monotonic() - started
        requests.delete(base_url + "/_test/faults", timeout=10)
        for c in clients:  # the re-runs, in fair weather
            c.round(stall_timeout=60.0, forget=False)
        rss_after = rss_bytes(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
        log.close()

    lines = (tmp_path / "server.log").read_text().splitlines()
    access = [json.loads(x.split(" INFO ", 1)[1]) for x in lines if "server.access INFO" in x]
    routed_5xx = [a for a in access if a["status"] >= 500 and a["route"] != "-"]
    internal = [x for x in lines if "internal error" in x or "Traceback" in x]
    checked, bad = 0, []
    for c in clients:
        n, problems = c.verify()
        checked += n
        bad += problems
    crashes = [x for c in clients for x in c.crashes]
    growth = rss_after / rss_before - 1
    with capsys.disabled():
        print(
            f"\nsoak: {WARMUP_SECONDS:.0f} s warm-up + {soaked:.0f} s, "
            f"{sum(c.rounds for c in clients)} client rounds, "
            f"{len(access)} requests, injected {dict(injected)}, client errors under faults "
            f"{dict(Counter(e for c in clients for e in c.errors))}, files given up on and "
            f"fetched again {sum(c.failed_files for c in clients)}, files verified {checked}, "
            f"server RSS {rss_before / 1e6:.1f} MB -> {rss_after / 1e6:.1f} MB "
            f"({growth:+.1%}), routed 5xx {len(routed_5xx)}"
        )
    assert len(access) > 200 and sum(injected.values()) > 20  # the weather did happen
    assert crashes == [], crashes[:5]
    assert routed_5xx == [] and internal == [], (routed_5xx[:5], internal[:5])
    assert bad == [], bad[:10]
    assert checked >= 4 * 20
    assert growth < 0.10, (rss_before, rss_after)
