"""Benchmark FITS downloads against curl on the same signed URLs (issue #3).

Downloads the largest observation of the small demo archive with ``campfire.download.run`` (4
workers: manifest, SHA-256 while streaming, fsync, verify, rename, catalog records) and with
``curl --parallel --parallel-max 4`` on the very same signed URLs, in the same run, alternating
which goes first; reports best-of-N and median for each. Aim: campfire >= 80 % of curl.

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


def run_curl(manifest: dict[str, Any], dest: Path, workers: int) -> float:
    dest.mkdir()
    cfg = dest / "urls.cfg"
    lines = []
    for e in manifest["spectra"]:
        name = e["fits_path"].split("/")[-1]
        lines.append(f'url = "{e["download_url"]}"\noutput = "{dest / name}"\n')
    cfg.write_text("".join(lines))
    cmd = ["curl", "--parallel", "--parallel-max", str(workers), "-sSf", "--no-progress-meter"]
    t0 = time.perf_counter()
    subprocess.run([*cmd, "-K", str(cfg)], check=True)
    took = time.perf_counter() - t0
    first = manifest["spectra"][0]
    check = dest / first["fits_path"].split("/")[-1]
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
        ours, curl = [], []
        for i in range(rounds):
            first_ours = i % 2 == 0 or not have_curl
            if first_ours:
                ours.append(run_ours(api, tmp / "cat", tmp / f"cf{i}", obs, nfiles, workers, prof))
            if have_curl:
                curl.append(run_curl(manifest, tmp / f"curl{i}", workers))
            if not first_ours:
                ours.append(run_ours(api, tmp / "cat", tmp / f"cf{i}", obs, nfiles, workers, prof))
            shutil.rmtree(tmp / f"cf{i}", ignore_errors=True)
            shutil.rmtree(tmp / f"curl{i}", ignore_errors=True)
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
        print(
            f"  campfire reaches {out['curl_s'] / out['ours_s']:.0%} of curl best-of-{rounds}, "
            f"{out['curl_med'] / out['ours_med']:.0%} by medians (aim >= 80%)"
        )
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
    return [Row(NAME, name, mbs, "MB/s", Target(">=", 0.8, "ratio"), curl, "curl --parallel", on)]


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
