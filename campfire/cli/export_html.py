"""``campfire export-html``: a standalone HTML explorer of selected objects, to share.

Examples
--------
::

    campfire export-html --tag lrd -o lrds.html
    campfire export-html --field uds --redshift-range 5 7 --quality 3 4 -o uds.html
    campfire export-html --object J021737.42-051208.5 ember_uds_p4_123456 -o two.html
    campfire export-html --from-file ids.txt --grating PRISM -o mine.html
    campfire export-html --sql "SELECT object_id FROM objects WHERE max_snr > 20" -o bright.html

The selection options are those of ``campfire download`` (``cli/options.py``): ``--object``,
``--tag`` and ``--from-file`` choose objects, ``--obs``, ``--program``, ``--field`` and
``--grating`` (and here ``--quality`` and ``--redshift-range``) narrow them, or select on their
own as ``cf.query_objects`` does. The command runs ``Campfire().export_html(selection, path)``
and reports the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from campfire.cli.auth import OK, cli_client, handle_errors
from campfire.cli.options import multi_option, read_id_file, selection_options

__all__ = ["export_html"]


def _quality(values: tuple[str, ...]) -> list[int | str]:
    return [int(v) if v.strip().isdigit() else v for v in values]


def _selection(cf: Any, given: dict[str, Any]) -> Any:
    """The objects the options choose: a query Table, or ids in the order given."""
    from campfire.errors import NotFoundError

    explicit = list(given.pop("objects") or ())
    from_file = given.pop("from_file")
    if from_file is not None:
        explicit += read_id_file(from_file)
    filters: dict[str, Any] = {k: list(v) for k, v in given.items() if v and k != "redshift_range"}
    if given.get("redshift_range"):
        filters["redshift_range"] = tuple(given["redshift_range"])
    if "redshift_quality" in filters:
        filters["redshift_quality"] = _quality(given["redshift_quality"])
    if not explicit:
        return cf.query_objects(**filters)
    ids = []
    for raw in explicit:  # object names, target ids or (from a file) spectrum ids
        try:
            ids.append(cf.resolve_object_id(raw))
        except NotFoundError:
            spectrum = cf.get_spectrum(raw)
            if spectrum is None or not spectrum.get("object_id"):
                raise
            ids.append(str(spectrum["object_id"]))
    tags = filters.pop("tags", None)
    if tags:  # tags add objects, as in campfire download
        ids += [str(i) for i in cf.query_objects(tags=tags)["object_id"]]
    if filters:  # the other filters narrow
        keep = set(cf.query_objects(**filters)["object_id"])
        ids = [i for i in ids if i in keep]
    return list(dict.fromkeys(ids))


@click.command("export-html")
@selection_options
@multi_option(
    "--quality", "redshift_quality", metavar="Q...",
    help="Redshift quality 0-4 or its name, e.g. 3 4 or secure.",
)  # fmt: skip
@click.option(
    "--redshift-range", "redshift_range", nargs=2, type=float, default=None, metavar="MIN MAX",
    help="Redshift between MIN and MAX.",
)  # fmt: skip
@click.option(
    "--sql", "sql", default=None, metavar="QUERY",
    help="Instead of the other options: a query over the catalog (as campfire sql runs) that "
    "selects the object_id column.",
)  # fmt: skip
@click.option(
    "--max-objects", default=500, show_default=True, type=click.IntRange(1, None), metavar="N",
    help="Refuse selections with more objects than this.",
)  # fmt: skip
@click.option(
    "-o", "--output", default="campfire-explorer.html", show_default=True, metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path), help="The HTML file to write.",
)  # fmt: skip
@click.option("--title", default=None, metavar="TEXT", help="The page's title.")
@click.pass_context
@handle_errors
def export_html(
    ctx: click.Context,
    /,
    sql: str | None,
    max_objects: int,
    output: Path,
    title: str | None,
    **options: Any,
) -> None:
    """Write a self-contained HTML explorer of the selected objects (needs campfire sync).

    The page opens in any browser with no kernel and no network: linked sky, redshift-S/N and
    table views, each object's spectra with emission lines that follow a redshift slider, its
    cached cutout, and an inspection form that exports CSV for campfire inspect --import.
    """
    from campfire.download.run import format_size

    chosen = any(v for v in options.values())
    if sql and chosen:
        raise click.UsageError("use either --sql or the selection options, not both")
    if not (sql or chosen):
        raise click.UsageError(
            "say which objects to export: --object, --tag, --from-file, --field, --obs, "
            "--program, --grating, --quality, --redshift-range or --sql "
            "(e.g. campfire export-html --tag lrd -o lrds.html)"
        )
    cf = cli_client(ctx)
    if not cf.is_local:
        click.echo("No local catalog yet. Run: campfire sync", err=True)
        sys.exit(1)
    selection = cf.sql(sql) if sql else _selection(cf, dict(options))
    n = len(selection)
    if not n:
        click.echo("No objects match the selection: nothing written.", err=True)
        sys.exit(1)
    bar = None
    if n <= max_objects:  # else export_html says why it will not, naming --max-objects
        click.echo(f"Gathering {n} object{'s' if n != 1 else ''}...")
        if sys.stdout.isatty():  # spectra not downloaded are fetched: show progress
            from tqdm import tqdm

            bar = tqdm(total=n, unit="obj", file=sys.stdout, leave=False)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    try:
        path = cf.export_html(
            selection, output, max_objects=max_objects, title=title, progress=progress
        )
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"{OK} Wrote {path} ({format_size(path.stat().st_size)}): open it in a browser")
