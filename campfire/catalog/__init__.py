"""The local catalog: the SQLite system of record and the DuckDB queries over it.

* :mod:`campfire.catalog.store`: ``<data_dir>/meta/campfire.db`` (schema, upserts, lock).
* :mod:`campfire.catalog.snapshot`: the Parquet snapshot DuckDB queries.
* :mod:`campfire.catalog.engine`: :class:`~campfire.catalog.engine.Catalog`, local queries.
* :mod:`campfire.catalog.filters`: query arguments validated into a filter set.
* :mod:`campfire.catalog.sql`: a filter set compiled into DuckDB SQL.
* :mod:`campfire.catalog.columns`: the columns of query results and their astropy Table.
"""
