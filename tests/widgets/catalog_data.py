"""A synthetic synced catalog written through the real Store, with the rows kept for checks.

Expected answers in the widget tests come from these plain Python rows (sorted, filtered by
hand), never from the widget's own queries.
"""

from __future__ import annotations

import random
from pathlib import Path

from campfire.catalog.store import Store

STAMP = "2026-05-01T00:00:00+00:00"
FIELDS = {"uds": (34.40, -5.20), "cosmos": (150.10, 2.25), "egs": (214.90, 52.85)}
PROGRAMS = ("EMBER-UDS", "CAPERS", "RUBIES")
GRATINGS = ("PRISM", "G140M", "G235M", "G395M")
TAGS = ("lrd", "blagn", "hae")


def best_redshift(row: dict) -> float | None:
    """The contract's best redshift: None for quality 1, else inspected, else automatic."""
    if row["redshift_quality"] == 1:
        return None
    for key in ("redshift_inspected", "redshift_auto"):
        if row.get(key) is not None:
            return row[key]
    return None


def make_rows(n: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """``n`` objects (ids J00000…) spread over three fields, and one to three spectra each."""
    rng = random.Random(seed)
    objects, spectra = [], []
    names = list(FIELDS)
    for i in range(n):
        field = names[i % 3]
        ra0, dec0 = FIELDS[field]
        quality = rng.choice((0, 0, 1, 2, 3, 4))
        auto = None if rng.random() < 0.05 else round(rng.uniform(0.5, 12.0), 4)
        inspected = round(auto + rng.uniform(-0.1, 0.1), 4) if auto and quality >= 2 else None
        gratings = sorted(rng.sample(GRATINGS, rng.randint(1, 3)))
        program = PROGRAMS[i % len(PROGRAMS)]
        oid = f"J{i:05d}"
        row = {
            "object_id": oid, "id": i + 1, "field": field,
            "ra": ra0 + rng.uniform(-0.15, 0.15), "dec": dec0 + rng.uniform(-0.15, 0.15),
            "n_targets": 1, "n_spectra": len(gratings), "programs": [program],
            "gratings": gratings, "observations": [f"{program.lower()}_p1"],
            "member_target_ids": [f"{program.lower()}_p1_{i}"],
            "max_snr": round(rng.uniform(0.5, 60.0), 2), "max_exposure_time": 3000.0,
            "redshift_auto": auto, "redshift_inspected": inspected, "redshift_quality": quality,
            "is_active": True, "updated_at": STAMP,
            "lists": [t for t in TAGS if rng.random() < 0.1],
        }  # fmt: skip
        row["redshift"] = best_redshift(row)
        objects.append(row)
        obs = f"{program.lower()}_p1"
        for g in gratings:
            spec = {
                "spectrum_id": f"{obs}_{g.lower()}_{i}", "id": len(spectra) + 1,
                "target_id": f"{obs}_{i}", "object_id": oid, "grating": g,
                "fits_path": f"spectra/{obs}/{g.lower()}_{i}_spec.fits",
                "file_hash": "sha256:" + "0" * 64, "file_size": 100,
                "signal_to_noise": row["max_snr"], "exposure_time": 3000.0,
                "reduction_version": "v1", "dq_flags": 0, "program_slug": program,
                "observation": obs, "field": field, "updated_at": STAMP,
            }  # fmt: skip
            spectra.append(spec)
    return objects, spectra


def fill_catalog(root: Path, n: int, seed: int = 0, with_spectra: bool = True) -> list[dict]:
    """Write ``n`` objects (and their spectra and tags) into ``root/meta/campfire.db``."""
    objects, spectra = make_rows(n, seed)
    spectra = spectra if with_spectra else []
    lists = [{"slug": s, "name": s.upper(), "id": i + 1} for i, s in enumerate(TAGS)]
    with Store(Path(root) / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("lists", lists, STAMP)
        store.upsert("objects", objects, STAMP)
        store.upsert("spectra", spectra, STAMP)
        store.bump("catalog_version")
    return objects
