"""Download planning: which FITS files to fetch, decided from the local catalog alone.

This is the first half of :mod:`campfire.download.run` (which then runs the plan on its worker
pool): :func:`plan_downloads` compares the catalog's server hash and size with what is already
downloaded (no per-file requests) and groups the files to fetch by observation;
the catalog reads it needs live in :mod:`campfire.catalog.downloads`.

Examples
--------
>>> op = ObservationPlan("obs1", "ember", "uds", total=3, local=1, files=[
...     FileTask("a", "obs1", "PRISM", "p/a.fits", None, 10, "new", "obs1/a.fits"),
...     FileTask("b", "obs1", "PRISM", "p/b.fits", None, 5, "updated", "obs1/b.fits")])
>>> op.new, op.updated, Plan([op]).total_bytes
(1, 1, 15)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from dataclasses import field as dc_field

from campfire.catalog.downloads import download_rows, known_names
from campfire.catalog.store import Store
from campfire.errors import ValidationError

__all__ = ["FileTask", "ObservationPlan", "Plan", "plan_downloads", "require_choice"]


@dataclass
class FileTask:
    """One file to fetch: where it comes from, what it must hash to, where it goes."""

    spectrum_id: str
    observation: str
    grating: str
    fits_path: str
    file_hash: str | None
    file_size: int | None
    reason: str  # "new" or "updated"
    local_path: str  # relative to products/, "<obs>/<file>"


@dataclass
class ObservationPlan:
    """The files of one observation that need fetching, and how many are already local."""

    observation: str
    program: str | None
    field: str | None
    total: int
    local: int
    files: list[FileTask] = dc_field(default_factory=list)

    @property
    def new(self) -> int:
        """Files never downloaded."""
        return sum(f.reason == "new" for f in self.files)

    @property
    def updated(self) -> int:
        """Downloaded files the archive has replaced since."""
        return sum(f.reason == "updated" for f in self.files)

    @property
    def bytes(self) -> int:
        """Bytes to fetch (as the catalog knows them)."""
        return sum(f.file_size or 0 for f in self.files)


@dataclass
class Plan:
    """What :func:`campfire.download.run.download` will do: one :class:`ObservationPlan` per
    observation.
    """

    observations: list[ObservationPlan]

    @property
    def files(self) -> list[FileTask]:
        """Every file to fetch."""
        return [f for o in self.observations for f in o.files]

    @property
    def total_bytes(self) -> int:
        """Bytes to fetch."""
        return sum(o.bytes for o in self.observations)

    def __len__(self) -> int:
        return len(self.files)


def _check_names(store: Store, column: str, wanted: list[str] | None, label: str) -> list[str]:
    if not wanted:
        return []
    known = known_names(store.conn, column)
    by_fold = {k.casefold(): k for k in known}
    out = []
    for name in wanted:
        if name.casefold() in by_fold:
            out.append(by_fold[name.casefold()])
            continue
        close = difflib.get_close_matches(name.casefold(), list(by_fold), n=3, cutoff=0.5)
        hint = (
            f" Did you mean: {', '.join(by_fold[c] for c in close)}?"
            if close
            else f" Known {label}s: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''}."
        )
        raise ValidationError(f"Unknown {label} '{name}'.{hint} Run 'campfire download' to list.")
    return out


def require_choice(
    observations: list[str] | None,
    programs: list[str] | None,
    fields: list[str] | None,
    gratings: list[str] | None,
    stale_only: bool,
    all: bool,
) -> None:
    """Raise :class:`ValidationError` unless some filter, ``stale_only`` or ``all`` is given.

    Examples
    --------
    >>> require_choice(["ember_uds_p4"], None, None, None, False, False)
    """
    if not (observations or programs or fields or gratings or stale_only or all):
        raise ValidationError(
            "Choose what to download: --obs, --program, --field or --grating, or --all for "
            "everything, or --stale for files updated on the server."
        )


def plan_downloads(
    store: Store,
    observations: list[str] | None = None,
    programs: list[str] | None = None,
    fields: list[str] | None = None,
    gratings: list[str] | None = None,
    stale_only: bool = False,
    all: bool = False,
    check_files: bool = True,
) -> Plan:
    """Decide which files to fetch, from the catalog alone.

    Filters of different kinds combine with AND, values of one kind with OR; names are matched
    case-insensitively and an unknown one raises :class:`ValidationError` naming close matches.
    ``check_files`` first ``stat``-s downloaded files so deleted or altered ones are fetched again.

    Examples
    --------
    >>> plan = plan_downloads(store, observations=["ember_uds_p4"])  # doctest: +SKIP
    >>> len(plan), plan.total_bytes  # doctest: +SKIP
    (12, 450200000)
    """
    if store.count("spectra") == 0:
        raise ValidationError("The local catalog has no spectra. Run: campfire sync")
    require_choice(observations, programs, fields, gratings, stale_only, all)
    wanted: dict[str, list[str]] = {}
    for column, names, label in (
        ("observation", observations, "observation"),
        ("program_slug", programs, "program"),
        ("field", fields, "field"),
        ("grating", gratings, "grating"),
    ):
        wanted[column] = _check_names(store, column, names, label)
    if check_files:
        store.check_local_files()
    plans: dict[str, ObservationPlan] = {}
    for r in download_rows(store.conn, wanted):
        obs = r["observation"] or ""
        op = plans.get(obs)
        if op is None:
            op = plans[obs] = ObservationPlan(obs, r["program_slug"], r["field"], 0, 0)
        op.total += 1
        downloaded = r["local_path"] is not None
        updated = (
            downloaded and r["file_hash"] is not None and r["local_file_hash"] != r["file_hash"]
        )
        if downloaded and not updated:
            op.local += 1
            continue
        if stale_only and not updated:
            continue
        name = (r["fits_path"] or "").rsplit("/", 1)[-1]
        reason = "updated" if updated else "new"
        op.files.append(
            FileTask(
                r["spectrum_id"],
                obs,
                r["grating"],
                r["fits_path"] or "",
                r["file_hash"],
                r["file_size"],
                reason,
                f"{obs}/{name}",
            )
        )
    return Plan([p for p in plans.values() if p.files or not stale_only])
