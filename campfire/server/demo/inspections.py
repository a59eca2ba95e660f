"""Visual inspections of the synthetic targets: redshift quality and tags, as people give them.

An inspector looks at a target's best spectrum and its automatic fit (``ZBEST``/``ZQUAL``):
a confident fit that agrees with the features gets quality 4 (or 3 at modest S/N); when the
automatic fit latched onto the wrong solution, a good spectrum still gets the right redshift
(quality 3) and a poor one a tentative, sometimes wrong, guess (2); spectra without features are
"impossible" (1). About a third of the targets are left uninspected (0: no row). Tags follow
what the data show: ``lrd`` and ``blagn`` on red compact broad-line sources, ``qg`` on
strong-break objects without lines, ``lae`` on strong Lyα in the covered range, ``hae`` on
strong Hα.

Examples
--------
>>> row = inspect_target(rec, truth, rng, when="2026-03-02T09:00:00+00:00")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from campfire.server.demo.sed import KINDS

__all__ = ["INSPECTORS", "inspect_target"]

INSPECTORS = ("alice@campfire.demo", "carol@campfire.demo", "dave@campfire.demo")
_DQ_NO_DETECTION, _DQ_CORRUPTED = 16, 128 | 256


def _tags(truth: dict[str, float], rng: np.random.Generator) -> list[str]:
    kind = KINDS[int(truth["kind"])]
    z = truth["z"]
    tags = []
    if kind == "lrd":
        tags.append("lrd")
    if kind == "blagn" or (kind == "lrd" and rng.random() < 0.5):
        tags.append("blagn")
    if truth["lya_fesc"] > 0.2 and 3.95 < z < 8.5:
        tags.append("lae")
    if truth["ew_ha"] > 500.0 and z < 7.0:
        tags.append("hae")
    if kind == "qg":
        tags.append("qg")
    return tags


def inspect_target(
    spectra: list[dict[str, Any]],
    truth: dict[str, float],
    rng: np.random.Generator,
    when: str,
    inspect_fraction: float = 0.67,
) -> dict[str, Any] | None:
    """One inspection row (``redshift_inspected``, ``redshift_quality``, ``inspected_by``,
    ``inspected_at``, ``tags``) or None when nobody looked at the target.

    Parameters
    ----------
    spectra
        The target's spectra summaries (``snr``, ``dq``, ``zbest``, ``zqual``).
    truth
        The galaxy's true ``z``, ``kind``, ``lya_fesc``, ``ew_ha``.
    rng
        Random generator for this object.
    when
        ISO-8601 UTC time of the inspection.
    inspect_fraction
        Probability that the target was inspected at all.
    """
    if not spectra or rng.random() > inspect_fraction:
        return None
    best = max(spectra, key=lambda s: s["snr"])
    z, zfit, snr = truth["z"], best["zbest"], best["snr"]
    err = abs(zfit - z) / (1.0 + z) if np.isfinite(zfit) else np.inf
    row: dict[str, Any] = {
        "inspected_by": INSPECTORS[int(rng.integers(len(INSPECTORS)))],
        "inspected_at": when,
    }
    if snr < 1.5 or best["dq"] & _DQ_NO_DETECTION or (best["dq"] & _DQ_CORRUPTED and snr < 3):
        quality, zin = 1, np.nan
    elif err < 0.005 and best["zqual"] == 3:
        quality, zin = (4 if snr > 5 else 3), zfit
    elif err < 0.01:
        quality, zin = (3 if snr > 3 else 2), zfit
    elif snr > 5:
        quality, zin = 3, z + 0.0005 * (1 + z) * rng.standard_normal()
    elif rng.random() < 0.5:
        quality, zin = 2, z + 0.002 * (1 + z) * rng.standard_normal()
    else:
        quality, zin = 2, zfit  # a tentative redshift that is wrong
    row["redshift_quality"] = quality
    row["redshift_inspected"] = round(float(zin), 4) if np.isfinite(zin) else np.nan
    row["tags"] = ";".join(_tags(truth, rng)) if quality >= 2 else ""
    return row
