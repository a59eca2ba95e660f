"""Benchmark FITS downloads against curl on the same signed URLs (issue #3).

Downloads the largest observation of the small demo archive with ``campfire.download.run`` (4
workers: manifest, SHA-256 while streaming, fsync, verify, rename, catalog records) and with
``curl --parallel --parallel-max 4`` on the very same signed URLs, in the same run, alternating
which goes first; reports best-of-N and median for each. Aim (issue #16): campfire >= 1.0x curl
by medians. Then one 1 GB file (256 MB in quick mode), single stream, ``fetch_one`` against
``curl -o`` on the same signed URL, alternating: aim >= 0.9x curl.

``--quick`` (``make bench``) downloads the largest observation of the tiny demo archive instead
(24 files, built once in ``.demo/tiny``), 9 rounds each; ``--json`` prints the rows for ``run.py``
last. The table's figure is the median throughput; without curl its baseline is skipped.

Run::

    .venv/bin/python benchmarks/bench_download.py            # builds .demo/small once
    .venv/bin/python benchmarks/bench_download.py --rounds 9 --profile /tmp/dl.prof
    .venv/bin/python benchmarks/bench_download.py --quick --json
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from demo_server import Served, ensure_archive
from paths import DEMO
from results import Row, Target, emit

from campfire.archive.api import ApiClient
from campfire.catalog.store import Store
from campfire.download.plan import plan_downloads
from campfire.download.run import download, format_size
from campfire.sync.engine import sync_catalog

NAME = "download"


def cpu_seconds(server_pid: int) -> tuple[float, float, float]:
    """CPU seconds (user + system) so far of this process, its finished children (curl) and
    the server: where the time of a transfer goes, printed beside the wall times.
    """
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(f"/proc/{server_pid}/stat") as fh:
        ticks = fh.read().rsplit(")", 1)[1].split()[11:13]
    server = sum(int(t) for t in ticks) / os.sysconf("SC_CLK_TCK")
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime, server


class CpuLog:
    """Median CPU seconds per run of each side (client and server), from :func:`cpu_seconds`."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.runs: dict[str, list[tuple[float, float]]] = {"ours": [], "curl": []}

    def around(self, who: str, run: Any) -> Any:
        """Call ``run()``, logging the CPU it cost the client (``who``) and the server."""
        before = cpu_seconds(self.pid)
        value = run()
        after = cpu_seconds(self.pid)
        client = after[0 if who == "ours" else 1] - before[0 if who == "ours" else 1]
        self.runs[who].append((client, after[2] - before[2]))
        return value

    def line(self) -> str:
        parts = []
        for who, runs in self.runs.items():
            if runs:
                client = statistics.median(r[0] for r in runs)
                server = statistics.median(r[1] for r in runs)
                label = "campfire" if who == "ours" else "curl"
                parts.append(f"{label} {client:.2f} s (server {server:.2f} s)")
        return "  CPU per run, medians: " + ", ".join(parts)


def curl_config(manifest: dict[str, Any], dest: Path) -> Path:
    """A ``curl -K`` file fetching every file of ``manifest`` to ``dest/<observation>/<name>``
    (the layout campfire writes); returns its path.
    """
    cfg = dest / "urls.cfg"
    lines = []
    for e in manifest["spectra"]:
        name = e["fits_path"].split("/")[-1]
        out = dest / (e.get("observation") or "obs") / name
        lines.append(f'url = "{e["download_url"]}"\noutput = "{out}"\n')
    cfg.write_text("create-dirs\n" + "".join(lines))
    return cfg


def run_curl(
    manifest: dict[str, Any], dest: Path, workers: int, ask: tuple[str, str] | None = None
) -> float:
    """``curl --parallel`` on the manifest's signed URLs; with ``ask`` (manifest URL, API key)
    the manifest is fetched by curl first and charged to curl too (as it is to campfire).
    """
    dest.mkdir()
    cmd = ["curl", "--parallel", "--parallel-max", str(workers), "-sSf", "--no-progress-meter"]
    t0 = time.perf_counter()
    if ask is not None:
        got = subprocess.run(
            ["curl", "-sSf", "-H", f"Authorization: Bearer {ask[1]}", ask[0]],
            check=True, capture_output=True,
        )  # fmt: skip
        manifest = json.loads(got.stdout)
    cfg = curl_config(manifest, dest)
    if ask is None:
        t0 = time.perf_counter()
    subprocess.run([*cmd, "-K", str(cfg)], check=True)
    took = time.perf_counter() - t0
    first = manifest["spectra"][0]
    check = dest / (first.get("observation") or "obs") / first["fits_path"].split("/")[-1]
    assert "sha256:" + hashlib.sha256(check.read_bytes()).hexdigest() == first["file_hash"]
    return took


def run_ours(
    api: ApiClient, cat: Path, root: Path, obs: str, nfiles: int, workers: int, prof: Any
) -> float:
    shutil.copytree(cat, root)
    with Store(root / "meta" / "campfire.db") as store:
        plan = plan_downloads(store, observations=[obs])
        if prof is not None:
            prof.enable()
        t0 = time.perf_counter()
        result = download(api, store, plan, workers=workers)
        took = time.perf_counter() - t0
        if prof is not None:
            prof.disable()
        assert result.ok and result.downloaded == nfiles
    return took


def bench(
    path: Path, workers: int, rounds: int, profile: Path | None, scale: str = "small"
) -> dict[str, float]:
    prof = cProfile.Profile() if profile else None
    with Served(ensure_archive(path, scale)) as srv, tempfile.TemporaryDirectory() as t:
        api, tmp = srv.api(), Path(t)
        with Store(tmp / "cat" / "meta" / "campfire.db") as store:
            sync_catalog(api, store, export=False)
            obs = store.conn.execute(
                "SELECT observation FROM spectra GROUP BY 1 ORDER BY SUM(file_size) DESC LIMIT 1"
            ).fetchone()[0]
        manifest = api.fetch_manifest(obs)
        nbytes = sum(e["file_size"] for e in manifest["spectra"])
        nfiles = len(manifest["spectra"])
        have_curl = shutil.which("curl") is not None
        ask = (
            f"{srv.base_url}/observations/{obs}/manifest",
            srv.user("alice@campfire.demo")["api_key"],
        )
        ours: list[float] = []
        curl: list[float] = []
        curl_asking: list[float] = []  # curl fetching the manifest first, as campfire does
        cpu = CpuLog(srv.proc.pid)
        for i in range(rounds):
            first_ours = i % 2 == 0 or not have_curl

            def our_run(i: int = i) -> float:
                return run_ours(api, tmp / "cat", tmp / f"cf{i}", obs, nfiles, workers, prof)

            if first_ours:
                ours.append(cpu.around("ours", our_run))
            if have_curl:
                curl.append(
                    cpu.around("curl", lambda i=i: run_curl(manifest, tmp / f"curl{i}", workers))
                )
                curl_asking.append(run_curl(manifest, tmp / f"curlm{i}", workers, ask))
            if not first_ours:
                ours.append(cpu.around("ours", our_run))
            for d in (f"cf{i}", f"curl{i}", f"curlm{i}"):
                shutil.rmtree(tmp / d, ignore_errors=True)
    if prof is not None and profile is not None:
        prof.dump_stats(profile)
    out = {
        "files": nfiles,
        "bytes": nbytes,
        "ours_s": min(ours),
        "ours_med": statistics.median(ours),
        "curl": float(have_curl),
    }
    print(f"download {obs}: {nfiles} files, {format_size(nbytes)}, {workers} workers")
    print(
        f"  campfire download  best {out['ours_s']:.3f} s ({nbytes / out['ours_s'] / 1e6:.0f} MB/s)"
        f"  median {out['ours_med']:.3f} s   all: {' '.join(f'{x:.2f}' for x in ours)}"
    )
    if curl:
        out.update(curl_s=min(curl), curl_med=statistics.median(curl))
        print(
            f"  curl --parallel    best {out['curl_s']:.3f} s "
            f"({nbytes / out['curl_s'] / 1e6:.0f} MB/s)"
            f"  median {out['curl_med']:.3f} s   all: {' '.join(f'{x:.2f}' for x in curl)}"
        )
        out["curlm_med"] = statistics.median(curl_asking)
        print(
            f"  curl, manifest too median {out['curlm_med']:.3f} s   "
            f"all: {' '.join(f'{x:.2f}' for x in curl_asking)}"
        )
        print(
            f"  campfire reaches {out['curl_s'] / out['ours_s']:.0%} of curl best-of-{rounds}, "
            f"{out['curl_med'] / out['ours_med']:.0%} by medians (aim >= 100%); "
            f"{out['curlm_med'] / out['ours_med']:.0%} of curl fetching the manifest too"
        )
    print(cpu.line())
    return out


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 4 MiB blocks into one buffer."""
    h = hashlib.sha256()
    buf = bytearray(4 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def big_file(archive: Path, dest: Path, size: int) -> tuple[str, str, int]:
    """A copy of ``archive`` at ``dest`` whose first spectrum's file is ``size`` bytes of
    pseudo-random data (its catalog row updated to match); returns (spectrum_id, hash, size).

    A benchmark fixture only: it rewrites the copy's database directly, as no ingest would
    accept a 1 GB spectrum.
    """
    import sqlite3

    from campfire.server.archive import Archive

    shutil.copytree(archive, dest)
    arc = Archive(dest)
    try:
        sid, fits_path = (
            arc.db.conn()
            .execute("SELECT spectrum_id, fits_path FROM spectra ORDER BY spectrum_id LIMIT 1")
            .fetchone()
        )
        target = arc.store.path(fits_path)
    finally:
        arc.close()
    target.unlink()  # it may be a hard link into a shared pool
    block = random.Random(7).randbytes(16 << 20)
    h = hashlib.sha256()
    with open(target, "wb") as fh:
        for i in range(0, size, len(block)):
            piece = block[: min(len(block), size - i)]
            fh.write(piece)
            h.update(piece)
    digest = "sha256:" + h.hexdigest()
    con = sqlite3.connect(dest / "archive.db")
    with con:
        con.execute(  # the columns and the precomputed feed row the sync sends
            "UPDATE spectra SET file_hash = ?, file_size = ?, "
            "sync_json = json_set(sync_json, '$.file_hash', ?, '$.file_size', ?) "
            "WHERE spectrum_id = ?",
            (digest, size, digest, size, sid),
        )
    con.close()
    return sid, digest, size


def bench_big(path: Path, scale: str, size: int, rounds: int) -> dict[str, float]:
    """One ``size``-byte file, single stream: campfire's ``fetch_one`` against ``curl -o``."""
    from campfire.download.run import fetch_one

    with tempfile.TemporaryDirectory(dir=path.parent) as t:
        tmp = Path(t)
        sid, _, size = big_file(ensure_archive(path, scale), tmp / "archive", size)
        ours, curl = [], []
        with Served(tmp / "archive") as srv:
            api = srv.api()
            with Store(tmp / "cat" / "meta" / "campfire.db") as store:
                sync_catalog(api, store, export=False)
                row = dict(store.conn.execute(
                    "SELECT * FROM spectra WHERE spectrum_id = ?", (sid,)).fetchone())  # fmt: skip
            url = api.get_signed_url(row["fits_path"])
            url = url if url.startswith("http") else srv.base_url.rsplit("/api/v1", 1)[0] + url
            have_curl = shutil.which("curl") is not None
            cpu = CpuLog(srv.proc.pid)

            def run_curl_o(out: Path) -> float:
                t0 = time.perf_counter()
                subprocess.run(["curl", "-sSf", "-o", str(out), url], check=True)
                return time.perf_counter() - t0

            def run_fetch_one(store: Store) -> float:
                t0 = time.perf_counter()
                got = fetch_one(api, store, row)
                took = time.perf_counter() - t0
                assert got.stat().st_size == size
                return took

            def hash_alone() -> float:
                # the floor of a verified single stream: SHA-256 of the same bytes, read from
                # the page cache (the server's copy), nothing else
                t0 = time.perf_counter()
                sha256_of(served)
                return time.perf_counter() - t0

            files = [p for p in (tmp / "archive" / "store").rglob("*") if p.is_file()]
            served = max(files, key=lambda p: p.stat().st_size, default=None)  # the big one
            hashed: list[float] = []
            for i in range(rounds):
                if served is not None:
                    hashed.append(hash_alone())
                order = ("ours", "curl") if i % 2 == 0 else ("curl", "ours")
                for who in order:
                    if who == "curl" and have_curl:
                        out = tmp / f"curl{i}.fits"
                        curl.append(cpu.around("curl", lambda out=out: run_curl_o(out)))
                        out.unlink()
                    elif who == "ours":
                        root = tmp / f"cf{i}"
                        shutil.copytree(tmp / "cat", root)
                        with Store(root / "meta" / "campfire.db") as store:
                            ours.append(cpu.around("ours", lambda st=store: run_fetch_one(st)))
                        shutil.rmtree(root)
    out = {"bytes": float(size), "ours_med": statistics.median(ours)}
    if curl:
        out["curl_med"] = statistics.median(curl)
    if hashed:
        out["hash_med"] = statistics.median(hashed)
        print(f"  SHA-256 alone of the same bytes (page cache): median {out['hash_med']:.2f} s "
              f"({size / out['hash_med'] / 1e6:.0f} MB/s), "
              f"all {' '.join(f'{x:.2f}' for x in hashed)}"
              f"; campfire / hash alone {out['ours_med'] / out['hash_med']:.2f}")  # fmt: skip
    print(f"one {format_size(size)} file, single stream: campfire median {out['ours_med']:.2f} s "
          f"({size / out['ours_med'] / 1e6:.0f} MB/s), all {' '.join(f'{x:.2f}' for x in ours)}"
          + (f"; curl median {out['curl_med']:.2f} s ({size / out['curl_med'] / 1e6:.0f} MB/s), "
             f"all {' '.join(f'{x:.2f}' for x in curl)}" if curl else ""))  # fmt: skip
    print(cpu.line())
    return out


def rows(
    quick: bool = False,
    small: Path = DEMO / "small",
    workers: int = 4,
    rounds: int = 7,
    profile: Path | None = None,
) -> list[Row]:
    """The download figure against curl (``quick``: the tiny archive, 9 rounds)."""
    path, scale = (DEMO / "tiny", "tiny") if quick else (small, "small")
    out = bench(path, workers, 9 if quick else rounds, profile, scale)
    mbs = out["bytes"] / out["ours_med"] / 1e6
    on = f"{'quick: ' if quick else ''}{path.name} archive, largest observation, "
    on += f"{out['files']:.0f} files, {out['bytes'] / 1e6:.0f} MB, {workers} workers"
    name = "download one observation (throughput)"
    if "curl_med" not in out:
        why = "curl not found (apt-get install -y curl)" if not out["curl"] else "no curl run"
        return [
            Row(NAME, name, mbs, "MB/s", Target(">=", 0.8, "ratio"), note=on),
            Row(NAME, f"{name}, curl --parallel", None, "MB/s", skipped=why),
        ]
    curl = out["bytes"] / out["curl_med"] / 1e6
    curlm = out["bytes"] / out["curlm_med"] / 1e6
    result = [
        Row(NAME, name, mbs, "MB/s", Target(">=", 1.0, "ratio"), curl, "curl --parallel", on),
        Row(NAME, f"{name}, curl asking the manifest too", mbs, "MB/s",
            Target(">=", 1.0, "ratio"), curlm, "curl: manifest, then --parallel", on),
    ]  # fmt: skip
    size = (256 << 20) if quick else (1 << 30)
    big = bench_big(DEMO / "tiny", "tiny", size, 3 if quick else 5)
    name = f"download one {format_size(size)} file, single stream"
    on = f"{'quick: ' if quick else ''}a copy of the tiny archive with one such file"
    mbs = big["bytes"] / big["ours_med"] / 1e6
    if "curl_med" not in big:
        return [*result, Row(NAME, name, mbs, "MB/s", Target(">=", 0.9, "ratio"), note=on)]
    curl = big["bytes"] / big["curl_med"] / 1e6
    return [*result, Row(NAME, name, mbs, "MB/s", Target(">=", 0.9, "ratio"), curl, "curl", on)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=Path, default=DEMO / "small")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", type=Path, help="write a cProfile of campfire's runs here")
    ap.add_argument("--quick", action="store_true", help="the tiny archive, 9 rounds")
    ap.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = ap.parse_args()
    out = rows(args.quick, args.small, args.workers, args.rounds, args.profile)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
