"""The local catalog: the SQLite system of record, the DuckDB queries over it, and every SQL
statement the client runs against it.

* :mod:`campfire.catalog.store`: :class:`~campfire.catalog.store.Store`, the one writer
  (connection, transactions, change counters, sync upserts, download state).
* :mod:`campfire.catalog.schema`: tables, numbered migrations, what an active object is.
* :mod:`campfire.catalog.rows`: synced rows converted for the upsert.
* :mod:`campfire.catalog.lock`: the cross-process lock ``meta/.lock``.
* :mod:`campfire.catalog.reader`: :class:`~campfire.catalog.reader.CatalogReader`, the
  client's reads (records by id, vocabulary, queries).
* :mod:`campfire.catalog.downloads`: the reads download planning and listing need.
* :mod:`campfire.catalog.export`: the CSV exports written after a sync.
* :mod:`campfire.catalog.engine`: :class:`~campfire.catalog.engine.Catalog`, DuckDB queries.
* :mod:`campfire.catalog.snapshot`: the snapshot files DuckDB queries.
* :mod:`campfire.catalog.filters`: query arguments validated into a filter set.
* :mod:`campfire.catalog.sql`: a filter set compiled into DuckDB SQL.
* :mod:`campfire.catalog.columns`: the columns of query results and their astropy Table.
* :mod:`campfire.catalog.outbox`: the writes not yet confirmed by the archive.
* :mod:`campfire.catalog.edits`: a write's local effect, and the archive's answer to it.
* :mod:`campfire.catalog.feeds`: comments and tag members from the ``inspections`` feeds.
* :mod:`campfire.catalog.patch`: a few objects' rows of the DuckDB tables updated in place.
"""
