"""An object as a caller sees it: aggregates over only the programs they may see.

An object's precomputed aggregates (``n_targets``, ``n_spectra``, ``programs``, ``gratings``,
``max_snr``, ``max_exposure_time``, ``redshift_auto`` and the ``redshift`` taken from it) count
every program's targets and spectra. For a caller who may see only some of an object's programs
(a public target that shares its sky object with a private one) they are computed again here
from the visible targets and spectra alone, so an answer never tells of private spectra.

Examples
--------
>>> seen = visible_aggregates(conn, [12], frozenset({"ALPHA-UDS"}))  # doctest: +SKIP
>>> seen[12]["n_spectra"], seen[12]["programs"]  # doctest: +SKIP
(2, ['ALPHA-UDS'])
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from campfire.server.storage.database import marks

__all__ = ["sees_all", "visible_aggregates", "with_visible_redshift"]


def sees_all(programs_key: str | None, programs: frozenset[str] | set[str]) -> bool:
    """Whether a caller who may see ``programs`` sees every program of an object.

    Examples
    --------
    >>> sees_all("ALPHA;BETA", {"ALPHA"}), sees_all("ALPHA", {"ALPHA", "BETA"})
    (False, True)
    """
    return not programs_key or set(programs_key.split(";")) <= set(programs)


def visible_aggregates(
    conn: Any, pks: list[int], programs: frozenset[str] | set[str]
) -> dict[int, dict[str, Any]]:
    """Each object's aggregates over the targets and spectra of ``programs`` only.

    Parameters
    ----------
    conn
        A database connection.
    pks
        Object primary keys.
    programs
        The programs the caller may see.

    Returns
    -------
    dict
        ``{pk: {"n_targets", "n_spectra", "programs", "gratings", "max_snr",
        "max_exposure_time", "redshift_auto"}}`` (lists sorted; None where nothing is visible).
    """
    if not pks or not programs:
        return {}
    progs = sorted(programs)
    out: dict[int, dict[str, Any]] = {}
    targets: dict[int, list[str]] = defaultdict(list)
    for pk, prog in conn.execute(
        f"SELECT object_pk, program_slug FROM targets "
        f"WHERE object_pk IN ({marks(len(pks))}) AND program_slug IN ({marks(len(progs))})",
        [*pks, *progs],
    ):
        targets[pk].append(prog)
    spectra: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for pk, *rest in conn.execute(
        "SELECT object_pk, id, grating, signal_to_noise, exposure_time, redshift_auto "
        f"FROM spectra WHERE object_pk IN ({marks(len(pks))}) "
        f"AND program_slug IN ({marks(len(progs))})",
        [*pks, *progs],
    ):
        spectra[pk].append(tuple(rest))
    for pk in pks:
        ts, ss = targets[pk], spectra[pk]
        snrs = [s[2] for s in ss if s[2] is not None]
        exps = [s[3] for s in ss if s[3] is not None]
        with_z = [s for s in ss if s[4] is not None]
        best = max(
            with_z, key=lambda s: (s[2] if s[2] is not None else -math.inf, -s[0]), default=None
        )  # fmt: skip  (the rule of ``catalog/rows.py``)
        out[pk] = {
            "n_targets": len(ts),
            "n_spectra": len(ss),
            "programs": sorted(set(ts)),
            "gratings": sorted({s[1] for s in ss}),
            "max_snr": max(snrs) if snrs else None,
            "max_exposure_time": max(exps) if exps else None,
            "redshift_auto": best[4] if best is not None else None,
        }
    return out


def with_visible_redshift(row: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    """``row`` (an object's answer) with ``seen``'s aggregates, and its ``redshift`` taken
    again from the visible ``redshift_auto`` when it was the automatic one.

    Examples
    --------
    >>> row = {"redshift": 3.49, "redshift_auto": 3.49, "redshift_inspected": None,
    ...        "redshift_quality": None, "n_spectra": 3}
    >>> out = with_visible_redshift(row, {"redshift_auto": 3.51, "n_spectra": 2})
    >>> out["redshift"], out["n_spectra"]
    (3.51, 2)
    """
    out = {**row, **seen}
    if (row.get("redshift_quality") or 0) == 1:
        out["redshift"] = None
    elif row.get("redshift_inspected") is None:
        out["redshift"] = out["redshift_auto"]
    return out
