"""Catalog sync: the archive's ``/sync/*`` feeds pulled into the local catalog.

* :mod:`campfire.sync.engine`: :func:`~campfire.sync.engine.sync_local_catalog` (what
  ``cf.sync()`` and ``campfire sync`` run) and :func:`~campfire.sync.engine.sync_catalog`.
* :mod:`campfire.sync.result`: :class:`~campfire.sync.result.SyncResult`, and the mapping
  base both result types share.
* :mod:`campfire.sync.outbox`: pushing the outbox of local writes (what a sync does first).
* :mod:`campfire.sync.inspections`: the ``inspections`` extension's feeds (comments, tag
  members) and the pending writes kept on top of what the archive sent.
"""
