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
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

from campfire.catalog.downloads import download_rows, known_names, known_tags, select_spectra
from campfire.catalog.store import Store
from campfire.errors import ValidationError

__all__ = [
    "FileTask",
    "ObservationPlan",
    "Plan",
    "Selection",
    "plan_downloads",
    "plan_selection",
    "require_choice",
]


@dataclass(frozen=True)
class Selection:
    """What to download: filters by name (kinds combine with AND, values of a kind with OR)
    and a selection by id or tag (the union of what it names, narrowed by the filters).

    The one description of a download's selection that ``cf.download``, ``campfire download``,
    :meth:`~campfire.download.service.DownloadService.prepare` and :func:`plan_selection` pass
    along.

    Examples
    --------
    >>> Selection(observations=["ember_uds_p4"]).chosen, Selection(tags=["lrd"]).by_id
    (True, True)
    >>> Selection().chosen
    False
    """

    observations: Sequence[str] | None = None
    programs: Sequence[str] | None = None
    fields: Sequence[str] | None = None
    gratings: Sequence[str] | None = None
    stale_only: bool = False
    all: bool = False
    ids: Sequence[str] | None = None
    object_ids: Sequence[str] | None = None
    spectrum_ids: Sequence[str] | None = None
    tags: Sequence[str] | None = None

    @property
    def by_id(self) -> bool:
        """True when ids or tags were given (even an empty list: it selects nothing)."""
        return any(x is not None for x in (self.ids, self.object_ids, self.spectrum_ids, self.tags))

    @property
    def chosen(self) -> bool:
        """True when something was chosen: a filter, ids or tags, ``stale_only`` or ``all``."""
        return bool(
            self.observations or self.programs or self.fields or self.gratings or self.by_id
        ) or (self.stale_only or self.all)

    def require(self, *, cli: bool = False) -> None:
        """Raise :class:`ValidationError` unless something was chosen (see
        :func:`require_choice`).
        """
        require_choice(
            _list(self.observations), _list(self.programs), _list(self.fields),
            _list(self.gratings), self.stale_only, self.all, selection=self.by_id, cli=cli,
        )  # fmt: skip


def _list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


@dataclass
class FileTask:
    """One file to fetch: where it comes from, what it must hash to, where it goes."""

    spectrum_id: str
    observation: str
    grating: str
    fits_path: str
    file_hash: str | None
    file_size: int | None
    reason: str  # "new", "updated" (or "downloaded", in a plan that lists every file)
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
    *,
    selection: bool = False,
    cli: bool = False,
) -> None:
    """Raise :class:`ValidationError` unless some filter, a selection (ids, tags),
    ``stale_only`` or ``all`` is given; the message names the Python keywords, or the
    command's options when ``cli``.

    Examples
    --------
    >>> require_choice(["ember_uds_p4"], None, None, None, False, False)
    >>> require_choice(None, None, None, None, False, False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    campfire.errors.ValidationError: Choose what to download: observations=, programs=, ...
    """
    if observations or programs or fields or gratings or stale_only or all or selection:
        return
    if cli:
        raise ValidationError(
            "Choose what to download: --obs, --program, --field, --grating, --object, --tag or "
            "--from-file, or --all for everything, or --stale for files updated on the server."
        )
    raise ValidationError(
        "Choose what to download: observations=, programs=, fields=, gratings=, object_ids=, "
        "spectrum_ids= or tags= (lists), a table from query_objects or query_spectra "
        "(cf.download(table)), or stale_only=True for files updated on the server."
    )


def _selected(
    store: Store,
    ids: Sequence[str] | None,
    object_ids: Sequence[str] | None,
    spectrum_ids: Sequence[str] | None,
    tags: Sequence[str] | None,
) -> set[str] | None:
    """The spectrum ids a selection names (None: no selection was given)."""
    if ids is None and object_ids is None and spectrum_ids is None and tags is None:
        return None
    sel = select_spectra(
        store.conn,
        ids=list(ids or ()),
        object_ids=list(object_ids or ()),
        spectrum_ids=list(spectrum_ids or ()),
        tags=list(tags or ()),
    )
    if sel.unknown:
        shown = ", ".join(sel.unknown[:5]) + (" ..." if len(sel.unknown) > 5 else "")
        raise ValidationError(
            f"{len(sel.unknown)} id(s) not in the local catalog: {shown}. Ids are object names "
            "(J021737.42-051208.5), target ids (ember_uds_p4_123456) or spectrum ids "
            "(ember_uds_p4_prism_clear_123456); run campfire sync if they are new."
        )
    if sel.unknown_tags:
        known = known_tags(store.conn)
        close = difflib.get_close_matches(sel.unknown_tags[0].casefold(), known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValidationError(
            f"Unknown tag '{sel.unknown_tags[0]}'.{hint} Known tags: "
            f"{', '.join(known[:20]) or '(none)'}."
        )
    if not sel.spectra:
        raise ValidationError(
            "The selection names no spectra (an empty list or table, or tags with no members): "
            "nothing to download."
        )
    return sel.spectra


def plan_downloads(
    store: Store,
    observations: list[str] | None = None,
    programs: list[str] | None = None,
    fields: list[str] | None = None,
    gratings: list[str] | None = None,
    stale_only: bool = False,
    all: bool = False,
    check_files: bool = True,
    *,
    ids: Sequence[str] | None = None,
    object_ids: Sequence[str] | None = None,
    spectrum_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    every_file: bool = False,
) -> Plan:
    """Decide which files to fetch, from the catalog alone.

    Filters of different kinds combine with AND, values of one kind with OR; names are matched
    case-insensitively and an unknown one raises :class:`ValidationError` naming close matches.
    A selection (``object_ids`` by object name or target id, ``spectrum_ids``, ``tags``, and
    ``ids`` of any of these kinds) is the union of what it names, narrowed by the filters;
    an id or tag the catalog does not know raises :class:`ValidationError`.
    ``check_files`` first ``stat``-s downloaded files so deleted or altered ones are fetched again.
    ``every_file`` lists downloaded, unchanged files too (reason ``"downloaded"``), for
    ``download_urls``.

    Examples
    --------
    >>> plan = plan_downloads(store, observations=["ember_uds_p4"])  # doctest: +SKIP
    >>> len(plan), plan.total_bytes  # doctest: +SKIP
    (12, 450200000)
    """
    return plan_selection(
        store,
        Selection(
            observations=observations,
            programs=programs,
            fields=fields,
            gratings=gratings,
            stale_only=stale_only,
            all=all,
            ids=ids,
            object_ids=object_ids,
            spectrum_ids=spectrum_ids,
            tags=tags,
        ),
        check_files=check_files,
        every_file=every_file,
    )


def plan_selection(
    store: Store, selection: Selection, *, check_files: bool = True, every_file: bool = False
) -> Plan:
    """:func:`plan_downloads` for a :class:`Selection`.

    Examples
    --------
    >>> plan = plan_selection(store, Selection(tags=["lrd"]))  # doctest: +SKIP
    """
    if store.count("spectra") == 0:
        raise ValidationError("The local catalog has no spectra. Run: campfire sync")
    sel = selection
    picked = _selected(store, sel.ids, sel.object_ids, sel.spectrum_ids, sel.tags)
    sel.require()
    stale_only = sel.stale_only
    wanted: dict[str, list[str]] = {}
    for column, names, label in (
        ("observation", sel.observations, "observation"),
        ("program_slug", sel.programs, "program"),
        ("field", sel.fields, "field"),
        ("grating", sel.gratings, "grating"),
    ):
        wanted[column] = _check_names(store, column, _list(names), label)
    if check_files:
        store.check_local_files()
    plans: dict[str, ObservationPlan] = {}
    for r in download_rows(store.conn, wanted, picked):
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
            if not every_file:
                continue
        if stale_only and not updated:
            continue
        name = (r["fits_path"] or "").rsplit("/", 1)[-1]
        reason = "updated" if updated else "new" if not downloaded else "downloaded"
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
