"""Catalog sync: the archive's ``/sync/*`` feeds pulled into the local catalog.

* :mod:`campfire.sync.engine`: :func:`~campfire.sync.engine.sync_local_catalog` (what
  ``cf.sync()`` and ``campfire sync`` run) and :func:`~campfire.sync.engine.sync_catalog`.
* :mod:`campfire.sync.result`: :class:`~campfire.sync.result.SyncResult`, and the mapping
  base both result types share.
"""
