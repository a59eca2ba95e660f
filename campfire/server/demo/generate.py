"""The synthetic demo archive: deterministic, physically plausible pipeline products.

:func:`generate_products` writes one products directory per program (the layout of
``docs/products-format.md``, the same files ``campfire deploy`` ingests) for a *scale*:

* ``tiny`` — 3 observations, 3 programs (one private), 2 fields, ~50 objects; for tests.
* ``small`` — 8 observations, 3 programs, 3 fields, ~500 objects, ~1000 spectra; the demo.
* ``large`` — ≥100,000 objects and ≥300,000 spectra for benchmarks; spectrum files are a pool of
  real simulated files hard-linked under every spectrum's own name.

The same seed gives byte-identical files. :data:`DEMO_USERS` are the accounts the demo server
creates. See ``docs/demo-archive.md`` for the programs, fields and how realism is modelled.

Examples
--------
>>> from pathlib import Path
>>> dirs = generate_products(Path("demo-products"), scale="tiny", seed=42)  # doctest: +SKIP
>>> sorted(d.name for d in dirs)  # doctest: +SKIP
['capers', 'ember-uds', 'rubies']
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from campfire.errors import ValidationError
from campfire.server.demo.observations import ObservationDef, TargetRecord, build_observation
from campfire.server.demo.scales import HERO, SCALES, ProgramDef, Scale
from campfire.server.demo.shutters import MsaPlan
from campfire.server.demo.sky import Sky

if TYPE_CHECKING:
    from campfire.server.ingest.spectrumfile import ContentCache

__all__ = ["DEMO_USERS", "HERO", "SCALES", "ProgramDef", "Scale", "generate_products"]

Progress = Callable[[str, int, int], None]

#: demo accounts; ``programs`` are grants beyond the public programs ("*" = every program)
DEMO_USERS: list[dict[str, Any]] = [
    {"email": "alice@campfire.demo", "password": "alice-campfire-demo",
     "full_name": "Alice Admin", "programs": "*", "admin": True},
    {"email": "bob@campfire.demo", "password": "bob-campfire-demo", "full_name": "Bob Public",
     "programs": [], "admin": False},
    {"email": "carol@campfire.demo", "password": "carol-campfire-demo",
     "full_name": "Carol Rubies", "programs": ["RUBIES"], "admin": False},
]  # fmt: skip


def _scale(name: str) -> Scale:
    if name not in SCALES:
        raise ValidationError(f"unknown demo scale {name!r}; choose one of {', '.join(SCALES)}")
    return SCALES[name]


def _prepare(out_dir: Path) -> None:
    """Make ``out_dir`` ours: empty, or made by an earlier run (whose products are replaced)."""
    manifest = out_dir / "demo-manifest.json"
    if out_dir.exists() and any(out_dir.iterdir()) and not manifest.exists():
        raise ValidationError(
            f"{out_dir} is not empty and was not made by the demo generator; "
            "pass an empty or new folder (nothing was written)"
        )
    if manifest.exists():
        old = json.loads(manifest.read_text())
        for name in [*old.get("products", []), "_pool"]:
            shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)


#: build_observation's arguments before ``progress``: folder, observation, sky, plan, source
#: ids, seed, reduction time
_Job = tuple[Path, ObservationDef, Sky, MsaPlan, np.ndarray, int, str]


class _Seeds:
    """What a worker process's files hold, carried back to the parent's ingest cache."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Path, Any]] = []

    def put(self, kind: str, path: Path, value: Any) -> None:
        self.items.append((kind, path, value))


def _quiet() -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - open for the worker's life
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _observation_job(job: _Job) -> tuple[list[TargetRecord], list[Any]]:
    seeds = _Seeds()
    return build_observation(*job, progress=None, contents=seeds), seeds.items


def _build_in_processes(
    jobs: dict[str, _Job],
    workers: int,
    progress: Progress | None,
    contents: ContentCache | None,
) -> dict[str, list[TargetRecord]]:
    """Each observation simulated in a pool of ``workers`` processes (each is seeded by its
    own name, so the order they run in changes nothing).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    records: dict[str, list[TargetRecord]] = {}
    # fork: the workers inherit the loaded modules and need no importable __main__ (a
    # script without a main guard still works); they never print, and their streams are
    # fresh, so a lock a parent thread held at the fork (a progress line) is never waited on
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_quiet) as pool:
        futures = {name: pool.submit(_observation_job, job) for name, job in jobs.items()}
        for name, future in futures.items():
            records[name], seeds = future.result()
            for kind, path, value in seeds:
                if contents is not None:
                    contents.put(kind, path, value)
            if progress is not None:
                n = sum(len(r.spectra) for r in records[name])
                progress(f"spectra {name}", n, n)
    return records


def generate_products(
    out_dir: Path,
    scale: str = "tiny",
    seed: int = 42,
    progress: Progress | None = None,
    contents: ContentCache | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write one products directory per program under ``out_dir``; return their paths.

    Parameters
    ----------
    out_dir
        A new or empty folder, or one an earlier call wrote (its products are replaced).
    scale
        ``"tiny"``, ``"small"`` or ``"large"`` (see :data:`SCALES`).
    seed
        The same seed gives byte-identical files.
    progress
        Called as ``progress(stage, done, total)`` while spectra are made.
    contents
        An ingest cache told what each spectrum and fit file holds as it is written: a deploy
        given the same cache does not read them again.
    workers
        Processes simulating observations side by side (default: one per CPU for scales of
        four or more observations, else 1); the files are the same whatever the number.

    Raises
    ------
    ValidationError
        For an unknown scale, or an ``out_dir`` holding something else.
    """
    from campfire.server.demo import catalog as demo_catalog

    out_dir = Path(out_dir)
    spec = _scale(scale)
    _prepare(out_dir)
    skies = demo_catalog.build_skies(spec, seed)
    pool = None
    if spec.pooled:
        from campfire.server.demo import pool as demo_pool

        pool = demo_pool.build_pool(out_dir / "_pool", seed, progress, contents=contents)
        demo_pool.clone_into(skies, pool, seed)
    plans = demo_catalog.plan_observations(spec, skies, seed)
    reduced = demo_catalog.reduction_times(spec, seed)
    products = {p.slug: out_dir / p.slug.lower() for p in spec.programs}
    records: dict[str, list[TargetRecord]] = {}
    if pool is not None:
        records = demo_pool.link_observations(spec, plans, pool, products, reduced, progress)
    else:
        jobs: dict[str, _Job] = {
            obs.name: (products[obs.program], obs, skies[obs.field], *plans[obs.name], seed,
                       reduced[obs.name])
            for obs in spec.observations
        }  # fmt: skip
        if workers is None:
            workers = len(os.sched_getaffinity(0)) if len(jobs) >= 4 else 1
        if min(workers, len(jobs)) > 1:
            records = _build_in_processes(jobs, min(workers, len(jobs)), progress, contents)
        else:
            for name, job in jobs.items():
                records[name] = build_observation(*job, progress=progress, contents=contents)
    demo_catalog.write_inspections(spec, skies, records, products, reduced, seed)
    cache: dict[tuple[str, str], Any] = {}  # (product, field) -> its columns
    for program in spec.programs:
        folder = products[program.slug]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "program.json").write_text(
            json.dumps(
                {
                    "slug": program.slug,
                    "program_name": program.name,
                    "pi_name": program.pi,
                    "is_public": program.public,
                },
                indent=1,
            )
            + "\n"
        )
        demo_catalog.write_photometry(spec, skies, program, folder, seed, progress, cache)
        demo_catalog.write_cutouts(spec, skies, records, program, folder, seed, progress)
    demo_catalog.write_truth(out_dir / "demo-truth.ecsv", spec, skies, records)
    (out_dir / "demo-manifest.json").write_text(
        json.dumps(
            {
                "generator": "campfire.server.demo.generate",
                "scale": spec.name,
                "seed": int(seed),
                "products": sorted(p.name for p in products.values()),
                "observations": [o.name for o in spec.observations],
            },
            indent=1,
        )
        + "\n"
    )
    return [products[p.slug] for p in spec.programs]
