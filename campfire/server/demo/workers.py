"""Observations simulated side by side in worker processes, with the same files as one by one.

Each observation draws every random number from its own name (``rng_for(seed, name, ...)``),
so the order and the process it is simulated in change nothing: ``build_observations`` with
two workers writes the bytes one worker writes (``tests/demo/test_demo_ingest_contents.py``).
Workers are forked (they inherit the loaded modules, and a script without a main guard still
works); they never print, and what they tell the ingest cache is carried back to the parent.

Examples
--------
>>> records = build_observations(jobs, workers=2, progress=None, contents=None)  # doctest: +SKIP

Other work that needs no spectrum (cutout tiles, photometry) runs in the same pool through
:func:`build_side_by_side`, so it overlaps the observations instead of following them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from campfire.server.demo.observations import (
    Contents,
    ObservationDef,
    TargetRecord,
    build_observation,
)
from campfire.server.demo.shutters import MsaPlan
from campfire.server.demo.sky import Sky

__all__ = ["Job", "SideTask", "build_observations", "build_side_by_side", "default_workers"]

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


#: what side tasks read without it being pickled: set in the parent before the workers fork
_CONTEXT: dict[str, Any] = {}


class SideTask(NamedTuple):
    """Work besides the observations (cutouts, photometry): ``fn(context, *args)``.

    ``stage`` names it in progress reports; ``context`` is the dict given to
    :func:`build_side_by_side` (workers inherit it when they fork, it is never pickled).
    """

    stage: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]


def _side_job(task: SideTask) -> Any:
    return task.fn(_CONTEXT, *task.args)


def _size(job: Job) -> int:
    """Spectra an observation job makes (its targets × their dispersers), to start big first."""
    obs, n = job[1], job[3].index.size
    return sum(min(n, max(1, round(d[3] * n))) for d in obs.dispersers)


def build_side_by_side(
    jobs: dict[str, Job],
    side: dict[str, SideTask],
    context: dict[str, Any],
    workers: int,
    progress: Progress | None,
    contents: Contents | None,
) -> tuple[dict[str, list[TargetRecord]], dict[str, Any]]:
    """Simulate ``jobs`` and run the ``side`` tasks, in ``workers`` processes if above 1.

    Observations are started largest first and the side tasks after them, so the small
    side tasks fill the time the last observations leave idle. Returns the records of each
    observation and the result of each side task (by name). Each side task is reported
    as ``progress(stage, done, total)`` over the tasks of its stage.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    totals: dict[str, int] = {}
    for task in side.values():
        totals[task.stage] = totals.get(task.stage, 0) + 1
    done: dict[str, int] = dict.fromkeys(totals, 0)

    def side_done(name: str) -> None:
        stage = side[name].stage
        done[stage] += 1
        if progress is not None:
            progress(stage, done[stage], totals[stage])

    records: dict[str, list[TargetRecord]] = {}
    results: dict[str, Any] = {}
    workers = min(workers, len(jobs) + len(side))
    if workers <= 1:
        for name, job in jobs.items():
            records[name] = build_observation(*job, progress=progress, contents=contents)
        for name, task in side.items():
            results[name] = task.fn(context, *task.args)
            side_done(name)
        return records, results
    _CONTEXT.clear()
    _CONTEXT.update(context)
    mp = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(workers, mp_context=mp, initializer=_quiet) as pool:
            order = sorted(jobs, key=lambda name: -_size(jobs[name]))
            pending = {pool.submit(_observation_job, jobs[name]): ("obs", name) for name in order}
            pending |= {pool.submit(_side_job, task): ("side", n) for n, task in side.items()}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    kind, name = pending.pop(future)
                    if kind == "side":
                        results[name] = future.result()
                        side_done(name)
                        continue
                    records[name], seeds = future.result()
                    for what, path, value in seeds:
                        if contents is not None:
                            contents.put(what, path, value)
                    if progress is not None:
                        n = sum(len(r.spectra) for r in records[name])
                        progress(f"spectra {name}", n, n)
    finally:
        _CONTEXT.clear()
    return {name: records[name] for name in jobs}, {name: results[name] for name in side}


def build_observations(
    jobs: dict[str, Job], workers: int, progress: Progress | None, contents: Contents | None
) -> dict[str, list[TargetRecord]]:
    """Simulate each observation of ``jobs`` (by name), in ``workers`` processes if above 1.

    ``progress(f"spectra {name}", done, total)`` is called per spectrum in one process, per
    finished observation with workers.
    """
    return build_side_by_side(jobs, {}, {}, workers, progress, contents)[0]
