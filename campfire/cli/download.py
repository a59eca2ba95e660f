"""``campfire download``: fetch FITS files, verified, planned from the local catalog.

Examples
--------
::

    campfire download                                   # list observations and local state
    campfire download --obs ember_uds_p4                # one observation
    campfire download --program EMBER-UDS --grating PRISM
    campfire download --stale                           # files reprocessed on the server
    campfire download --all --yes                       # everything, no question asked
    campfire download --obs ember_uds_p4 --dry-run      # show the plan only

The command runs the steps of ``Campfire().download()`` (a quick sync, the plan, the
transfers) and adds the listing, the confirmation and the progress bars.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import Any

import click

from campfire.cli.auth import OK, WARN, cli_client, handle_errors
from campfire.cli.options import bounded_int_option


def print_table(rows: list[list[str]]) -> None:
    """Print rows as left-aligned columns separated by two spaces."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _list_observations(summary: list[dict[str, Any]]) -> None:
    rows = [["OBSERVATION", "PROGRAM", "FIELD", "SPECTRA", "LOCAL"]]
    for o in summary:
        up_to_date = o["local"] - (o["stale"] or 0)
        if not o["local"]:
            local = ""
        elif up_to_date == o["spectra"]:
            local = f"{o['spectra']} (complete)"
        else:
            local = f"{up_to_date}/{o['spectra']}"
        rows.append(
            [
                o["observation"] or "",
                o["program"] or "",
                (o["field"] or "").upper(),
                str(o["spectra"]),
                local,
            ]
        )
    print_table(rows)
    click.echo("Use --obs, --program, or --field to download, or --all for everything.")


BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar:10}| {files} [{elapsed}<{remaining}]"


def _file_bar(**kwargs: Any) -> Any:
    """A tqdm bar weighted by bytes whose text shows files done (``12/12``)."""
    from tqdm import tqdm

    class FileBar(tqdm):  # type: ignore[type-arg]
        files = "0/0"

        @property
        def format_dict(self) -> dict[str, Any]:
            d = dict(super().format_dict)
            d["files"] = self.files
            return d

    return FileBar(**kwargs)


class _Bars:
    """The download progress callback: one bar per observation, as in the reference."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.lock = threading.Lock()

    def __call__(self, kind: str, obs: str, amount: int, total: int) -> None:
        if not self.enabled:
            return
        with self.lock:
            if kind == "observation":
                size = shutil.get_terminal_size()  # (80, 24) when the terminal does not say
                self.bar = _file_bar(
                    total=max(total, 1),
                    desc=obs,
                    bar_format=BAR_FORMAT,
                    file=sys.stdout,
                    ncols=min(100, size.columns),
                    nrows=size.lines,
                )
                self.bar.files = f"0/{amount}"
            elif kind == "bytes" and self.bar is not None:
                self.bar.update(amount)
            elif kind == "file" and self.bar is not None:
                self.bar.files = f"{amount}/{total}"
                self.bar.refresh()
            elif kind == "finished" and self.bar is not None:
                if not total:  # nothing failed: show a full bar even if sizes were unknown
                    self.bar.n = self.bar.total
                self.bar.close()
                self.bar = None


def _describe(op: Any) -> str:
    from campfire.download.run import format_size

    if not op.files:
        return f"{op.observation}: up to date"
    parts = []
    if op.new:
        parts.append(f"{op.new} new")
    if op.updated:
        parts.append(f"{op.updated} updated")
    return f"{op.observation}: {', '.join(parts)} ({format_size(op.bytes)})"


@click.command()
@click.option(
    "--obs", "observations", multiple=True, metavar="NAME", help="Observation name (repeatable)."
)
@click.option(
    "--program", "programs", multiple=True, metavar="NAME", help="Program slug (repeatable)."
)
@click.option("--field", "fields", multiple=True, metavar="NAME", help="Field name (repeatable).")
@click.option(
    "--grating", "gratings", multiple=True, metavar="NAME", help="Grating, e.g. PRISM (repeatable)."
)
@click.option("--stale", is_flag=True, help="Re-download files updated on the server.")
@click.option("--all", "all_", is_flag=True, help="Download everything accessible.")
@bounded_int_option("--workers", 4, 1, 64, "Parallel download workers.", metavar="N")
@click.option("--yes", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--dry-run", is_flag=True, help="Show the plan without downloading.")
@click.pass_context
@handle_errors
def download(
    ctx: click.Context,
    observations: tuple[str, ...],
    programs: tuple[str, ...],
    fields: tuple[str, ...],
    gratings: tuple[str, ...],
    stale: bool,
    all_: bool,
    workers: int,
    yes: bool,
    dry_run: bool,
) -> None:
    """Download FITS spectrum files (needs a prior campfire sync).

    Downloads are incremental (only new or changed files) and every file is verified with
    its SHA-256 hash. With no filter, lists the observations and their download status.
    """
    from campfire.download.run import format_size

    cf = cli_client(ctx)
    if not cf.is_local:
        click.echo("No local catalog yet. Run: campfire sync", err=True)
        sys.exit(1)
    if not (observations or programs or fields or gratings or stale or all_):
        _list_observations(cf.reader.observation_summary())
        return
    click.echo("Checking files...")
    plan = cf.downloads.prepare(  # a quick incremental sync first, as cf.download() does
        observations=list(observations),
        programs=list(programs),
        fields=list(fields),
        gratings=list(gratings),
        stale_only=stale,
        all=all_,
    )
    for op in plan.observations:
        click.echo(_describe(op))
    files = plan.files
    if not files:
        click.echo(f"{OK} Everything is up to date" if not stale else "No stale files.")
        return
    size = format_size(plan.total_bytes)
    click.echo(f"Download {len(files)} files ({size})?")
    if dry_run:
        click.echo("Dry run: nothing downloaded.")
        return
    if not yes:
        if not sys.stdin.isatty():
            click.echo(
                "Not asking for confirmation without a terminal: re-run with --yes to download.",
                err=True,
            )
            sys.exit(1)
        if not click.confirm("Proceed?", default=True):
            click.echo("Cancelled.")
            return
    result = cf.downloads.run(plan, workers=workers, progress=_Bars(enabled=sys.stdout.isatty()))
    if result.downloaded:
        click.echo(f"{OK} Download complete" if result.ok else f"{WARN} Download incomplete")
        click.echo(f"Files downloaded: {result.downloaded}")
        click.echo(f"Total size: {format_size(result.bytes)}")
    if result.failures:
        click.echo(f"{WARN} {result.failed} file(s) failed:", err=True)
        for f in result.failures:
            click.echo(f"  {f.local_path}: {f.reason}", err=True)
        click.echo("Run the same command again to retry them.", err=True)
        sys.exit(1)
