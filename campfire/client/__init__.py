"""The ``Campfire`` client, composed of a catalog reader, an archive client and a download service.

* :mod:`campfire.client.core`: :class:`Campfire` itself, each public method a thin call into
  its parts that decides local or remote;
* :mod:`campfire.client.remote`: records and queries answered by the archive's API;
* :mod:`campfire.client.cutouts`: cutouts and MSA shutters, cached under ``cutouts/``;
* :mod:`campfire.client.queries`: the shared signature of ``query_objects``/``query_spectra``;
* :mod:`campfire.client.wire`: filter sets as query parameters, wire rows as catalog rows (it
  joins the archive's vocabulary to the catalog's, so it sits here, above both);
* :mod:`campfire.client.inspections` and :mod:`campfire.client.tags`: ``cf.inspect``, the tags
  and the other writes, bound into :class:`Campfire`; :mod:`campfire.client.outbox` saves
  them locally and sends them;
  :mod:`campfire.client.imports` reads a spreadsheet of inspections.

The local catalog's reads live in :mod:`campfire.catalog.reader`, the download service in
:mod:`campfire.download.service`.

Examples
--------
>>> from campfire.client import Campfire
>>> Campfire.__module__
'campfire.client.core'
"""

from campfire.client.core import Campfire

__all__ = ["Campfire"]
