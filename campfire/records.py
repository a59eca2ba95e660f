"""Single catalog records and the archive's vocabulary, for :class:`~campfire.client.Campfire`.

:class:`Records` answers ``get_object``, ``get_spectrum``, ``get_metadata`` and the name lists
(``get_fields``, ``get_tags`` …) from the synced catalog's SQLite store, or from the archive
when there is no catalog or ``remote=True``. It is one of the classes ``Campfire`` is assembled
from (see :mod:`campfire.connection`); queries and spectrum files build on it.

Examples
--------
>>> obj = cf.get_object("J021737.42-051208.5")  # doctest: +SKIP
>>> cf.get_fields()  # doctest: +SKIP
['cosmos', 'uds']
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from campfire.archive.wire import object_row, spectrum_row
from campfire.catalog.columns import best_redshift, build_table
from campfire.connection import Connection
from campfire.errors import CampfireError, ValidationError

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.models.data import SpectrumData
    from campfire.models.object import Object

__all__ = ["Records"]

log = logging.getLogger("campfire.client")


class Records(Connection):
    """Objects, spectra rows, programs, fields, gratings, observations and tags.

    Examples
    --------
    >>> cf.get_spectrum("ember_uds_p4_prism_clear_123456")["grating"]  # doctest: +SKIP
    'PRISM'
    """

    if TYPE_CHECKING:

        def _opener(self, spectrum: Any) -> SpectrumData: ...  # from Products

    # -- single records ------------------------------------------------------------------------
    def _local_spectra(self, object_id: str) -> list[dict[str, Any]]:
        cat = self.catalog
        assert cat is not None
        with cat._lock:
            rows = cat.sqlite.execute(
                "SELECT * FROM spectra WHERE object_id = ? ORDER BY spectrum_id", (object_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def get_object(self, object_id: str, remote: bool = False) -> Object | None:
        """One object with its spectra, tags and photometry attached; None if unknown.

        ``object_id`` is the object's IAU-style name (``J021737.42-051208.5``) or the id of one
        of its targets (``ember_uds_p4_123456``, ``<observation>_<source_id>``), which resolves
        to the sky object that target belongs to.

        Examples
        --------
        >>> obj = cf.get_object("J021737.42-051208.5")  # doctest: +SKIP
        >>> obj.spectra.gratings, obj.tags  # doctest: +SKIP
        (['G395M', 'PRISM'], ['lrd'])
        """
        from campfire.models.object import Object, Photometry

        if not isinstance(object_id, str) or not object_id.strip():
            raise ValidationError(f"object_id must be a non-empty string (got {object_id!r})")
        cat = self._local(remote, "get_object")
        if cat is not None:
            active = "SELECT * FROM objects WHERE object_id = ? AND coalesce(is_active, 1) <> 0"
            row = self._row(active, (object_id,))
            if row is None:  # a target id names the object it belongs to
                owner = self._row(
                    "SELECT object_id FROM spectra WHERE target_id = ? AND object_id IS NOT NULL "
                    "LIMIT 1",
                    (object_id,),
                )
                row = None if owner is None else self._row(active, (owner["object_id"],))
                if row is None:
                    return None
                object_id = row["object_id"]
            with cat._lock:
                tags = [
                    r[0]
                    for r in cat.sqlite.execute(
                        "SELECT list_slug FROM object_list_memberships WHERE object_id = ? "
                        "ORDER BY list_slug",
                        (object_id,),
                    )
                ]
            phot = self._row(
                "SELECT * FROM object_photometry WHERE object_id = ? "
                "ORDER BY catalog_name, id LIMIT 1",
                (object_id,),
            )
            for key in ("programs", "gratings", "observations", "member_target_ids"):
                row[key] = [v for v in (row.get(key) or "").split(";") if v]
            row["redshift"] = best_redshift(row)
            row["spectra"] = self._local_spectra(object_id)
            return Object.from_dict(
                row,
                tags=tags,
                photometry=None if phot is None else Photometry.from_record(phot),
                opener=self._opener,
                products_dir=self.settings.products_dir,
            )
        api = self._online("get_object(remote)")
        body = api.get_json("/objects", params={"search": object_id, "limit": "50"})
        rows = body.get("data") or []
        match = [r for r in rows if r.get("object_id") == object_id] or [
            r
            for r in rows
            if any(t.get("target_id") == object_id for t in r.get("member_targets") or [])
        ]
        if not match:
            return None
        object_id = match[0]["object_id"]
        row = object_row(match[0])
        spectra: list[dict[str, Any]] = []
        if row.get("ra") is not None and row.get("dec") is not None:
            near = api.get_json(
                "/spectra/list",
                params={
                    "ra": repr(row["ra"]),
                    "dec": repr(row["dec"]),
                    "radius": "2",
                    "limit": "500",
                },
            )
            spectra = [
                spectrum_row(s)
                for s in near.get("data") or []
                if (s.get("object_id") or s.get("parent_object_id")) == object_id
            ]
            spectra.sort(key=lambda s: s["spectrum_id"])
        row["spectra"] = spectra
        return Object.from_dict(
            row, tags=row["tags"], opener=self._opener, products_dir=self.settings.products_dir
        )

    def get_spectrum(self, spectrum_id: str, remote: bool = False) -> dict[str, Any] | None:
        """One spectrum's catalog row as a dict; None if unknown.

        Examples
        --------
        >>> cf.get_spectrum("ember_uds_p4_prism_clear_123456")["grating"]  # doctest: +SKIP
        'PRISM'
        """
        if not isinstance(spectrum_id, str) or not spectrum_id.strip():
            raise ValidationError(f"spectrum_id must be a non-empty string (got {spectrum_id!r})")
        if self._local(remote, "get_spectrum") is not None:
            return self._row("SELECT * FROM spectra WHERE spectrum_id = ?", (spectrum_id,))
        api = self._online("get_spectrum(remote)")
        body = api.get_json("/spectra/list", params={"search": spectrum_id, "limit": "50"})
        match = [r for r in body.get("data") or [] if r.get("spectrum_id") == spectrum_id]
        if not match:
            return None
        row = dict(match[0])
        row.setdefault("object_id", row.get("parent_object_id"))
        return row

    # -- metadata ------------------------------------------------------------------------------
    def get_metadata(self, remote: bool = False) -> dict[str, Any]:
        """``{'programs': [...], 'fields': [...], 'gratings': [...], 'observations': [...]}``.

        Locally the lists come from the synced catalog. Program names and PIs come from the
        catalog when the sync stored them (``_meta`` key ``programs``), else from ``/metadata``
        once per client when online (a logged fallback); offline they are None.

        Examples
        --------
        >>> cf.get_metadata()["fields"]  # doctest: +SKIP
        ['cosmos', 'uds']
        """
        cat = self._local(remote, "get_metadata")
        if cat is None:
            if self._metadata is None:
                self._metadata = dict(self._online("get_metadata(remote)").get_metadata())
            return self._metadata
        vocab = cat.vocabulary()
        # The programs this user can access: what the archive said at the last sync, else the
        # programs of the synced spectra (that feed is access-filtered). The objects' own
        # `programs` lists are not: they also name programs the user cannot see.
        programs = sorted(self._program_details(), key=lambda p: str(p.get("slug")))
        if not programs:
            with cat._lock:
                slugs = [
                    r[0]
                    for r in cat.sqlite.execute(
                        "SELECT DISTINCT program_slug FROM spectra "
                        "WHERE program_slug IS NOT NULL ORDER BY program_slug"
                    )
                ]
            programs = [
                {"slug": s, "program_name": None, "pi_name": None, "is_public": None} for s in slugs
            ]
        return {
            "programs": programs,
            "fields": list(vocab["fields"]),
            "gratings": list(vocab["gratings"]),
            "observations": list(vocab["observations"]),
        }

    def _program_details(self) -> list[dict[str, Any]]:
        """Program names and PIs: stored by the sync if it did, else ``/metadata`` (logged)."""
        stored = self._row("SELECT value FROM _meta WHERE key = 'programs'", ())
        if stored and stored.get("value"):
            try:
                return list(json.loads(stored["value"]))
            except ValueError:
                log.info("get_metadata: stored program details unreadable; ignoring them")
        if self._metadata is None:
            if self.settings.offline:
                return []
            log.info("get_metadata: program names are not in the local catalog; asking the archive")
            try:
                self._metadata = dict(self.api.get_metadata())
            except CampfireError as exc:
                log.info("get_metadata: program names unavailable (%s)", exc)
                return []
        return list(self._metadata.get("programs") or [])

    def _names(self, key: str, remote: bool) -> list[str]:
        cat = self._local(remote, f"get_{key}")
        if cat is not None:
            return list(cat.vocabulary()[key])
        return list(self.get_metadata(remote=True)[key])

    def get_programs(self, remote: bool = False) -> Table:
        """Programs as a Table: ``slug, program_name, pi_name, is_public``."""
        from astropy.table import Table

        rows = self.get_metadata(remote=remote)["programs"]
        names = ("slug", "program_name", "pi_name", "is_public")
        cols = {n: [r.get(n) for r in rows] for n in names}
        spec = {
            "slug": ("str", None),
            "program_name": ("str", None),
            "pi_name": ("str", None),
            "is_public": ("bool", None),
        }
        return build_table(cols, spec) if rows else Table(names=names, dtype=(str, str, str, bool))

    def get_fields(self, remote: bool = False) -> list[str]:
        """Field names (``['cosmos', 'uds', ...]``)."""
        return self._names("fields", remote)

    def get_gratings(self, remote: bool = False) -> list[str]:
        """Grating names (``['G395M', 'PRISM', ...]``)."""
        return self._names("gratings", remote)

    def get_observations(self, remote: bool = False) -> list[str]:
        """Observation names (``['ember_uds_p4', ...]``)."""
        return self._names("observations", remote)

    def get_tags(self, remote: bool = False) -> Table:
        """Tags as a Table: ``slug, name, member_count`` (plus description and visibility).

        Examples
        --------
        >>> cf.get_tags()["slug"].tolist()  # doctest: +SKIP
        ['blagn', 'lrd']
        """
        names = ("slug", "name", "member_count", "description", "visibility", "is_system")
        cat = self._local(remote, "get_tags")
        if cat is not None:
            with cat._lock:
                rows = [
                    dict(r)
                    for r in cat.sqlite.execute(
                        "SELECT * FROM object_lists ORDER BY is_system DESC, name, slug"
                    )
                ]
        else:
            rows = self._online("get_tags(remote)").fetch_tags()
        cols = {n: [r.get(n) for r in rows] for n in names}
        cols["is_system"] = [None if v is None else bool(v) for v in cols["is_system"]]
        spec = {
            "slug": ("str", None),
            "name": ("str", None),
            "member_count": ("int", None),
            "description": ("str", None),
            "visibility": ("str", None),
            "is_system": ("bool", None),
        }
        return build_table(cols, spec)
