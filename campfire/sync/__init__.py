"""Catalog sync: the archive's ``/sync/*`` feeds pulled into the local catalog.

* :mod:`campfire.sync.engine`: :func:`~campfire.sync.engine.sync_catalog` and its result.
"""
