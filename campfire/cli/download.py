"""``campfire download``: fetch FITS files, verified, planned from the local catalog.

Examples
--------
::

    campfire download                                   # list observations and local state
    campfire download --obs ember_uds_p4                # one observation
    campfire download --obs ember_uds_p4 capers_cosmos_p1 --grating PRISM
    campfire download --program EMBER-UDS --grating PRISM
    campfire download --object ember_uds_p4_123456 J021737.42-051208.5
    campfire download --tag lrd blagn --grating PRISM   # every spectrum of tagged objects
    campfire download --from-file ids.txt               # object, target or spectrum ids
    campfire download --tag lrd --urls > urls.tsv       # signed URLs, sha256, size; no download
    campfire download --tag lrd --curl-script get.sh    # a sh script: curl, then sha256sum -c
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
from pathlib import Path
from typing import Any

import click

from campfire.cli.auth import OK, WARN, cli_client, handle_errors
from campfire.cli.options import bounded_int_option, read_id_file, selection_options
from campfire.download.result import format_size


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
        rows.append(  # names as the catalog has them, so they can be pasted into --field
            [o["observation"] or "", o["program"] or "", o["field"] or "", str(o["spectra"]), local]
        )
    print_table(rows)
    click.echo("Use --obs, --program, or --field to download, or --all for everything.")


BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar:10}| {sizes}, {files} files [{elapsed}<{remaining}]"


def _file_bar(files: str, **kwargs: Any) -> Any:
    """A tqdm bar over bytes whose text shows the bytes with units and the files done beside
    them (``ember_uds_p4: 62%|██████▏   | 64.8 MB/104.2 MB, 12/20 files [00:03<00:02]``).
    """
    from tqdm import tqdm

    class FileBar(tqdm):  # type: ignore[type-arg]
        def __init__(self, files: str, **kw: Any) -> None:
            self.files = files  # before the first draw, so it never shows 0/0
            super().__init__(**kw)

        @property
        def format_dict(self) -> dict[str, Any]:
            d = dict(super().format_dict)
            d["files"] = self.files
            d["sizes"] = f"{format_size(d['n'])}/{format_size(d['total'] or 0)}"
            return d

    return FileBar(files, **kwargs)


class _Bars:
    """The download progress callback: one bar per observation, weighted by bytes."""

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
                    f"0/{amount}",
                    total=max(total, 1),
                    desc=obs,
                    bar_format=BAR_FORMAT,
                    file=sys.stdout,
                    ncols=min(110, size.columns),
                    nrows=size.lines,
                )
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
    if not op.files:
        return f"{op.observation}: up to date"
    parts = []
    if op.new:
        parts.append(f"{op.new} new")
    if op.updated:
        parts.append(f"{op.updated} updated")
    return f"{op.observation}: {', '.join(parts)} ({format_size(op.bytes)})"


def confirm(question: str) -> bool:
    """Ask ``question`` [Y/n]: on a terminal as a prompt, else read the answer from stdin (a
    pipe: ``echo y | campfire download ...``). At the end of input, exit 1 naming ``--yes``.
    """
    if sys.stdin.isatty():
        return bool(click.confirm(question, default=True))
    click.echo(f"{question} [Y/n]: ", nl=False)
    line = sys.stdin.readline()
    if not line:
        click.echo("", err=False)
        click.echo(
            "No answer to read (standard input ended): re-run with --yes to download without "
            "asking.",
            err=True,
        )
        sys.exit(1)
    answer = line.strip().lower()
    click.echo(answer)
    if answer in ("", "y", "yes"):
        return True
    if answer in ("n", "no"):
        return False
    click.echo(f"Not an answer: {answer!r} (y or n). Nothing downloaded.", err=True)
    sys.exit(1)


def _write_urls(cf: Any, plan: Any, curl_script: Path | None) -> None:
    from campfire.download.urls import curl_script as make_script

    rows = cf.downloads.urls(plan)
    if curl_script is None:  # url, sha256, size, path: `cut -f1` gives the URLs
        for r in rows:
            click.echo(f"{r['url']}\t{r['sha256'] or ''}\t{r['size'] or ''}\t{r['path']}")
        return
    curl_script.write_text(make_script(rows))
    curl_script.chmod(0o755)
    total = format_size(sum(int(r["size"] or 0) for r in rows))
    click.echo(f"{OK} Wrote {curl_script}: {len(rows)} file(s), {total}")
    click.echo(f"Run it where the files should go: sh {curl_script.resolve()}")


@click.command()
@selection_options
@click.option("--stale", is_flag=True, help="Re-download files updated on the server.")
@click.option("--all", "all_", is_flag=True, help="Download everything accessible.")
@bounded_int_option("--workers", 4, 1, 64, "Parallel download workers.", metavar="N")
@click.option("--yes", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--dry-run", is_flag=True, help="Show the plan without downloading.")
@click.option(
    "--urls",
    is_flag=True,
    help="Print each selected file's signed URL, sha256 and size (tab-separated) instead of "
    "downloading.",
)
@click.option(
    "--curl-script",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write a sh script that downloads the selected files with curl and checks them with "
    "sha256sum -c, instead of downloading.",
)
@click.pass_context
@handle_errors
def download(
    ctx: click.Context,
    observations: tuple[str, ...],
    programs: tuple[str, ...],
    fields: tuple[str, ...],
    gratings: tuple[str, ...],
    objects: tuple[str, ...],
    tags: tuple[str, ...],
    from_file: Path | None,
    stale: bool,
    all_: bool,
    workers: int,
    yes: bool,
    dry_run: bool,
    urls: bool,
    curl_script: Path | None,
) -> None:
    """Download FITS spectrum files (needs a prior campfire sync).

    Downloads are incremental (only new or changed files) and every file is verified with
    its SHA-256 hash. With no filter, lists the observations and their download status.
    Options take several values (--obs a b) and may be repeated. Filters of different kinds
    combine (--tag lrd --grating PRISM); --object, --tag and --from-file add up.
    """
    cf = cli_client(ctx)
    if not cf.is_local:
        click.echo("No local catalog yet. Run: campfire sync", err=True)
        sys.exit(1)
    ids = read_id_file(from_file) if from_file is not None else None
    chosen = observations or programs or fields or gratings or objects or tags or ids
    if not (chosen or stale or all_):
        _list_observations(cf.reader.observation_summary())
        return
    listing = urls or curl_script is not None
    say = (lambda text: click.echo(text, err=True)) if urls else click.echo
    say("Checking files...")
    from campfire.download.plan import Selection

    selection = Selection(
        observations=list(observations),
        programs=list(programs),
        fields=list(fields),
        gratings=list(gratings),
        stale_only=stale,
        all=all_,
        ids=ids,
        object_ids=list(objects) if objects else None,
        tags=list(tags) if tags else None,
    )
    # a quick incremental sync first, as cf.download() does
    plan = cf.downloads.prepare(selection, every_file=listing, cli=True)
    if listing:
        _write_urls(cf, plan, curl_script)
        return
    for op in plan.observations:
        click.echo(_describe(op))
    files = plan.files
    if not files:
        click.echo(f"{OK} Everything is up to date" if not stale else "No stale files.")
        return
    click.echo(f"Download {len(files)} files ({format_size(plan.total_bytes)})?")
    if dry_run:
        click.echo("Dry run: nothing downloaded.")
        return
    if not yes and not confirm("Proceed?"):
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
