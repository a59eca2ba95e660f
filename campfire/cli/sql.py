"""``campfire sql``: run a read-only SQL query over the synced catalog and print the result.

Examples
--------
$ campfire sql "SELECT field, count(*) AS n FROM objects GROUP BY field ORDER BY field"
$ campfire sql --format csv "SELECT spectrum_id, grating FROM spectra" > spectra.csv
"""

from __future__ import annotations

import json
import math
from typing import Any

import click

__all__ = ["sql"]


def _cell(value: Any, join: bool = True) -> Any:
    """A table cell as plain Python (masked or NaN as None; lists ';'-joined if ``join``)."""
    import numpy as np

    if value is np.ma.masked or value is None:
        return None
    if isinstance(value, list | tuple | np.ndarray):
        items = [_cell(v, join) for v in value]
        return ";".join(str(v) for v in items) if join else items
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@click.command("sql")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--max-rows", type=click.IntRange(min=1), default=None, help="Print at most N rows.")
@click.pass_context
def sql(ctx: click.Context, query: str, fmt: str, max_rows: int | None) -> None:
    """Run a read-only SQL QUERY (DuckDB dialect) over the synced catalog.

    Tables: objects, spectra, object_photometry, object_lists and object_list_memberships
    (list columns such as objects.programs or objects.tags are VARCHAR[]). Nothing is sent
    over the network.

    \b
    Examples:
      campfire sql "SELECT field, count(*) AS n FROM objects GROUP BY field"
      campfire sql "SELECT object_id, redshift FROM objects WHERE list_contains(tags, 'lrd')"
      campfire sql --format csv "SELECT * FROM spectra WHERE grating = 'PRISM'" > prism.csv
    """  # noqa: D301 - \b keeps click from rewrapping the examples
    from campfire.cli.auth import cli_client
    from campfire.errors import CampfireError

    try:
        table = cli_client(ctx).sql(query)
    except CampfireError as exc:
        raise click.ClickException(str(exc)) from exc
    shown = table if max_rows is None else table[:max_rows]
    join = fmt != "json"
    rows = [[_cell(v, join) for v in row] for row in shown.iterrows()] if shown.colnames else []
    if fmt == "json":
        click.echo(json.dumps([dict(zip(shown.colnames, r, strict=True)) for r in rows], indent=1))
    elif fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(shown.colnames)
        writer.writerows([["" if v is None else v for v in r] for r in rows])
        click.echo(buf.getvalue(), nl=False)
    else:
        from astropy.table import Table

        names = shown.colnames
        text = Table(
            {n: ["--" if r[i] is None else str(r[i]) for r in rows] for i, n in enumerate(names)}
            if rows
            else None,
            names=names if not rows else None,
            dtype=[str] * len(names) if not rows else None,
        )
        for line in text.pformat(max_lines=-1, max_width=-1):
            click.echo(line)
        more = len(table) - len(shown)
        tail = f", {more} not shown" if more else ""
        click.echo(f"({len(table)} row{'s' if len(table) != 1 else ''}{tail})")
