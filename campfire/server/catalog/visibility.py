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

_SPECTRUM = tuple[Any, str, Any, Any, Any]  # id, grating, S/N, exposure time, redshift_auto


def _best_redshift(spectra: list[_SPECTRUM]) -> Any:
    """``redshift_auto`` of the spectrum with the best S/N (ties: the lowest id), as
    ``catalog/rows.py`` picks it.
    """
    with_z = [s for s in spectra if s[4] is not None]
    best = max(with_z, key=lambda s: (s[2] if s[2] is not None else -math.inf, -s[0]),
               default=None)  # fmt: skip
    return best[4] if best is not None else None


def _spectra_aggregates(spectra: list[_SPECTRUM]) -> dict[str, Any]:
    snrs = [s[2] for s in spectra if s[2] is not None]
    exps = [s[3] for s in spectra if s[3] is not None]
    return {
        "n_spectra": len(spectra),
        "gratings": sorted({s[1] for s in spectra}),
        "max_snr": max(snrs) if snrs else None,
        "max_exposure_time": max(exps) if exps else None,
        "redshift_auto": _best_redshift(spectra),
    }


__all__ = [
    "partial_keys",
    "sees_all",
    "visible_aggregates",
    "visible_column",
    "visible_object_doc",
    "visible_spectra",
    "with_visible_redshift",
]

#: each aggregate over a caller's visible spectra (or targets) of object ``o``, as SQL; ``{m}``
#: is the caller's programs' placeholders
_VISIBLE_SQL = {
    "n_spectra": "SELECT count(*) {spectra}",
    "n_targets": "SELECT count(*) FROM targets t WHERE t.object_pk = o.id "
    "AND t.program_slug IN ({m})",
    "max_snr": "SELECT max(s.signal_to_noise) {spectra}",
    "max_exposure_time": "SELECT max(s.exposure_time) {spectra}",
    # the best S/N's automatic redshift (ties: the lowest id), as _best_redshift picks it
    "redshift_auto": "SELECT s.redshift_auto {spectra} AND s.redshift_auto IS NOT NULL "
    "ORDER BY s.signal_to_noise IS NULL, s.signal_to_noise DESC, s.id ASC LIMIT 1",
}


def visible_spectra(programs: frozenset[str] | set[str]) -> tuple[str, list[str]]:
    """``FROM spectra s WHERE`` the spectra of object ``o`` in ``programs``, and its arguments.

    Examples
    --------
    >>> visible_spectra({"B", "A"})
    ('FROM spectra s WHERE s.object_pk = o.id AND s.program_slug IN (?,?)', ['A', 'B'])
    """
    progs = sorted(programs)
    return (
        f"FROM spectra s WHERE s.object_pk = o.id AND s.program_slug IN ({marks(len(progs))})",
        progs,
    )


def partial_keys(program_keys: list[str], programs: frozenset[str] | set[str]) -> list[str]:
    """The ``objects.programs_key`` values of the objects a caller who may see ``programs``
    sees only in part (one of their programs, not all).

    Examples
    --------
    >>> partial_keys(["A", "A;B", "B", "C"], {"A", "C"})
    ['A;B']
    """
    return [
        k
        for k in program_keys
        if k and not set(programs).isdisjoint(k.split(";")) and not sees_all(k, programs)
    ]


def visible_column(
    col: str, partial: list[str], programs: frozenset[str] | set[str]
) -> tuple[str, list[Any]]:
    """An ``objects o`` aggregate column as the caller sees it: SQL and its arguments.

    Objects whose ``programs_key`` is in ``partial`` (see :func:`partial_keys`) get the
    aggregate computed again over their visible spectra (``redshift`` as
    :func:`with_visible_redshift` takes it); the others, and columns that are not aggregates,
    keep the stored column, so a caller who sees everything keeps its index.

    Examples
    --------
    >>> visible_column("max_snr", [], {"A"})
    ('o.max_snr', [])
    >>> sql, args = visible_column("max_snr", ["A;B"], {"A"})
    >>> sql.startswith("(CASE WHEN o.programs_key IN (?) THEN (SELECT max("), args
    (True, ['A;B', 'A'])
    """
    if not partial or col not in (*_VISIBLE_SQL, "redshift"):
        return f"o.{col}", []
    spectra, progs = visible_spectra(programs)
    m = marks(len(progs))
    if col == "redshift":
        auto = _VISIBLE_SQL["redshift_auto"].format(spectra=spectra, m=m)
        inner = (
            "CASE WHEN o.redshift_quality = 1 THEN NULL WHEN o.redshift_inspected IS NULL "
            f"THEN ({auto}) ELSE o.redshift END"
        )
    else:
        inner = "(" + _VISIBLE_SQL[col].format(spectra=spectra, m=m) + ")"
    return (
        f"(CASE WHEN o.programs_key IN ({marks(len(partial))}) THEN {inner} ELSE o.{col} END)",
        [*partial, *progs],
    )


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
        out[pk] = {
            "n_targets": len(targets[pk]),
            "programs": sorted(set(targets[pk])),
            **_spectra_aggregates(spectra[pk]),
        }
    return out


def visible_object_doc(doc: dict[str, Any], observations: dict[str, str]) -> dict[str, Any]:
    """An object's ``/sync/objects`` row cut down to the targets of ``observations``
    (``{observation: program}``, those the caller may see), its aggregates computed again.

    Examples
    --------
    >>> doc = {"member_target_ids": ["a_p1_1", "b_p1_7"], "observations": ["a_p1", "b_p1"],
    ...        "spectra": [{"id": 1, "target_id": "a_p1_1", "grating": "PRISM",
    ...                     "signal_to_noise": 4.0, "exposure_time": 10.0, "redshift_auto": 3.5},
    ...                    {"id": 2, "target_id": "b_p1_7", "grating": "G140M",
    ...                     "signal_to_noise": 9.0, "exposure_time": 20.0, "redshift_auto": 3.4}],
    ...        "redshift": 3.4, "redshift_inspected": None, "redshift_quality": 0}
    >>> out = visible_object_doc(doc, {"a_p1": "A"})
    >>> out["programs"], out["n_spectra"], out["gratings"], out["redshift"]
    (['A'], 1, ['PRISM'], 3.5)
    """

    def seen(target_id: str) -> bool:
        return target_id.rsplit("_", 1)[0] in observations

    targets = [t for t in doc["member_target_ids"] if seen(t)]
    spectra = [s for s in doc["spectra"] if seen(s["target_id"])]
    rows = [
        (s["id"], s["grating"], s["signal_to_noise"], s["exposure_time"], s["redshift_auto"])
        for s in spectra
    ]
    out = {
        **doc,
        "member_target_ids": targets,
        "spectra": spectra,
        "observations": [o for o in doc["observations"] if o in observations],
        "n_targets": len(targets),
        "programs": sorted({observations[t.rsplit("_", 1)[0]] for t in targets}),
    }
    return with_visible_redshift(out, _spectra_aggregates(rows))


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
