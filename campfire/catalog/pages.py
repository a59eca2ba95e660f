"""One page of a catalog query as plain Python rows, without pyarrow or numpy.

:meth:`Catalog.arrow_table <campfire.catalog.engine.Catalog.arrow_table>` is the fast way to
hold a whole result for paging, but it imports pyarrow (and numpy with it), about half a second
in a fresh process. A new object browser needs only its first page and the row count on screen
first; :func:`first_page` answers those from DuckDB with ``LIMIT`` and ``count(*)``, fetched as
Python values, so the browser shows rows before the Arrow table is built (issue #14).

Examples
--------
>>> cols = ["object_id", "redshift"]
>>> rows, total = first_page(cat, "objects", Filters(), cols, 15)  # doctest: +SKIP
>>> len(rows), rows[0]["object_id"]  # doctest: +SKIP
(15, 'J021700.04-050814.4')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from campfire.catalog.sql import compile_local

if TYPE_CHECKING:
    from campfire.catalog.engine import Catalog
    from campfire.catalog.filters import Filters

__all__ = ["first_page"]


def first_page(
    cat: Catalog, kind: str, flt: Filters, columns: list[str], limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` rows matching ``flt`` (only ``columns``, in the query's order) as
    dicts of Python values, and how many rows match in all.

    The rows equal the first rows of ``cat.arrow_table(kind, flt, columns).to_pylist()``.
    """
    sql, params = compile_local(kind, flt)
    select = ", ".join(f'"{c}"' for c in columns)
    with cat._lock:
        duck = cat.connection()
        found = duck.execute(f"SELECT {select} FROM ({sql}) LIMIT {int(limit)}", params).fetchall()
        ((total,),) = duck.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()
    return [dict(zip(columns, row, strict=True)) for row in found], int(total)
