"""Benchmark FITS downloads against curl on the same signed URLs (issue #3).

Downloads the largest observation of the small demo archive with ``campfire.download.run`` (4
workers: manifest, SHA-256 while streaming, fsync, verify, rename, catalog records) and with
``curl --parallel --parallel-max 4`` on the very same signed URLs, in the same run, alternating
which goes first; reports best-of-N and median for each. Aim: campfire >= 80 % of curl.

Run::

    .venv/bin/python benchmarks/bench_download.py            # builds .demo/small once
    .venv/bin/python benchmarks/bench_download.py --rounds 9 --profile /tmp/dl.prof
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo_server import Served, ensure_archive  # noqa: E402

from campfire.archive.api import ApiClient  # noqa: E402
from campfire.catalog.store import Store  # noqa: E402
from campfire.download.plan import plan_downloads  # noqa: E402
from campfire.download.run import download, format_size  # noqa: E402
from campfire.sync.engine import sync_catalog  # noqa: E402


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


def bench(path: Path, workers: int, rounds: int, profile: Path | None) -> dict[str, float]:
    prof = cProfile.Profile() if profile else None
    with Served(ensure_archive(path, "small")) as srv, tempfile.TemporaryDirectory() as t:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=Path, default=ROOT / ".demo" / "small")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", type=Path, help="write a cProfile of campfire's runs here")
    args = ap.parse_args()
    bench(args.small, args.workers, args.rounds, args.profile)


if __name__ == "__main__":
    main()
