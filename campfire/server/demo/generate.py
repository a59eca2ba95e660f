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
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.errors import ValidationError
from campfire.server.demo.observations import TargetRecord
from campfire.server.demo.scales import HERO, SCALES, ProgramDef, Scale
from campfire.server.demo.workers import Job, SideTask, build_side_by_side, default_workers

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


#: cutout tiles per side task (about a second of work each)
_TILES_PER_TASK = 40


def _photometry_task(context: dict[str, Any], fld: str) -> dict[str, Any]:
    from campfire.server.demo import catalog as demo_catalog

    return demo_catalog.photometry_columns(context["skies"][fld], fld, context["seed"])


def _cutout_task(context: dict[str, Any], wanted: list[tuple[str, int]], folder: Path) -> int:
    from campfire.server.demo import catalog as demo_catalog

    spec, skies, seed = context["spec"], context["skies"], context["seed"]
    return demo_catalog.write_cutout_tiles(spec, skies, wanted, folder, seed)


def _side_tasks(
    spec: Scale, plans: dict[str, Any], products: dict[str, Path]
) -> dict[str, SideTask]:
    """Each field's photometry and each program's cutout tiles, in chunks, as side tasks."""
    from campfire.server.demo import catalog as demo_catalog

    tasks: dict[str, SideTask] = {}
    for fld in dict.fromkeys(o.field for o in spec.observations):
        tasks[f"phot {fld}"] = SideTask("photometry", _photometry_task, (fld,))
    for program in spec.programs:
        wanted = demo_catalog.cutout_targets(spec, plans, program)
        for i in range(0, len(wanted), _TILES_PER_TASK):
            chunk = wanted[i : i + _TILES_PER_TASK]
            tasks[f"cutouts {program.slug} {i}"] = SideTask(
                f"cutouts {program.slug}", _cutout_task, (chunk, products[program.slug])
            )
    return tasks


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
        Processes simulating observations side by side, with the cutout tiles and the
        photometry in the same processes (default: one per CPU for the small and large
        scales, 1 for tiny); the files are the same whatever the number.

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

        pool = demo_pool.build_pool(
            out_dir / "_pool", seed, progress, contents=contents,
            workers=default_workers() if workers is None else workers,
        )  # fmt: skip
        demo_pool.clone_into(skies, pool, seed)
    plans = demo_catalog.plan_observations(spec, skies, seed)
    reduced = demo_catalog.reduction_times(spec, seed)
    products = {p.slug: out_dir / p.slug.lower() for p in spec.programs}
    # cutout tiles and photometry need no spectrum: they run beside the observations
    side = _side_tasks(spec, plans, products)
    context = {"spec": spec, "skies": skies, "seed": seed}
    records: dict[str, list[TargetRecord]] = {}
    jobs: dict[str, Job] = {}
    if pool is not None:
        records = demo_pool.link_observations(spec, plans, pool, products, reduced, progress)
    else:
        jobs = {
            obs.name: (products[obs.program], obs, skies[obs.field], *plans[obs.name], seed,
                       reduced[obs.name])
            for obs in spec.observations
        }  # fmt: skip
    if workers is None:
        workers = default_workers() if len(jobs) >= 4 or spec.pooled else 1
    built, made = build_side_by_side(jobs, side, context, workers, progress, contents)
    records.update(built)
    demo_catalog.write_inspections(spec, skies, records, products, reduced, seed)
    cache: dict[tuple[str, str], Any] = {
        ("phot", name.split(" ", 1)[1]): cols for name, cols in made.items() if name[:5] == "phot "
    }  # (product, field) -> its columns
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
