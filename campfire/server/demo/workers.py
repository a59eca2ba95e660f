"""Observations simulated side by side in worker processes, with the same files as one by one.

Each observation draws every random number from its own name (``rng_for(seed, name, ...)``),
so the order and the process it is simulated in change nothing: ``build_observations`` with
two workers writes the bytes one worker writes (``tests/demo/test_demo_ingest_contents.py``).
Workers are forked (they inherit the loaded modules, and a script without a main guard still
works); they never print, and what they tell the ingest cache is carried back to the parent.

Examples
--------
>>> records = build_observations(jobs, workers=2, progress=None, contents=None)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from campfire.server.demo.observations import (
    Contents,
    ObservationDef,
    TargetRecord,
    build_observation,
)
from campfire.server.demo.shutters import MsaPlan
from campfire.server.demo.sky import Sky

__all__ = ["Job", "build_observations", "default_workers"]

#: build_observation's arguments before ``progress``: folder, observation, sky, plan, source
#: ids, seed, reduction time
Job = tuple[Path, ObservationDef, Sky, MsaPlan, np.ndarray, int, str]
Progress = Callable[[str, int, int], None]


def default_workers() -> int:
    """One worker per CPU this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Seeds:
    """What a worker process's files hold, carried back to the parent's ingest cache."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Path, Any]] = []

    def put(self, kind: str, path: Path, value: Any) -> None:
        self.items.append((kind, path, value))


def _quiet() -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - open for the worker's life
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _observation_job(job: Job) -> tuple[list[TargetRecord], list[Any]]:
    seeds = _Seeds()
    return build_observation(*job, progress=None, contents=seeds), seeds.items


def build_observations(
    jobs: dict[str, Job], workers: int, progress: Progress | None, contents: Contents | None
) -> dict[str, list[TargetRecord]]:
    """Simulate each observation of ``jobs`` (by name), in ``workers`` processes if above 1.

    ``progress(f"spectra {name}", done, total)`` is called per spectrum in one process, per
    finished observation with workers.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = min(workers, len(jobs))
    if workers <= 1:
        return {
            name: build_observation(*job, progress=progress, contents=contents)
            for name, job in jobs.items()
        }
    records: dict[str, list[TargetRecord]] = {}
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
