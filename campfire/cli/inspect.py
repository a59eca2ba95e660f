"""``campfire inspect``: record inspections, list conflicts, import a spreadsheet.

Examples
--------
::

    campfire inspect J021737.42-051208.5 --z 2.31 --quality secure --comment "Ha+[NII]"
    campfire inspect J021737.42-051208.5 --clear-redshift    # back to the automatic redshift
    campfire inspect ember_uds_p4_123456 --flag ember_uds_p4_prism_clear_123456=CHIP_GAP,LOW_SNR
    campfire inspect --conflicts
    campfire inspect J021737.42-051208.5 --keep mine      # or --keep theirs
    campfire inspect --import inspections.csv --dry-run

Each form calls one library method (``cf.inspect``, ``cf.set_dq_flags``, ``cf.outbox``,
``cf.resolve_conflict``, ``cf.import_inspections``), the same calls as in Python.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from campfire.cli.auth import OK, WARN, cli_client, handle_errors


def _z(value: Any) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _quality(value: Any) -> str:
    from campfire.flags import RedshiftQuality

    if value is None:
        return "unchanged"
    return f"{int(value)} ({RedshiftQuality.parse(int(value)).label})"


_WAITING = "Saved locally; it goes to the archive with the next `campfire sync`"


def _where(cf: Any, target: str) -> str:
    waiting = [e for e in cf.outbox if e.target == target and e.state == "pending"]
    return _WAITING[0].lower() + _WAITING[1:] if waiting else "saved and sent to the archive"


def _conflicts(cf: Any) -> None:
    from campfire.sync.outbox import describe

    found = [describe(e) for e in cf.outbox.conflicts]
    if not found:
        click.echo(f"{OK} No conflicts.")
        return
    click.echo(f"{WARN} {len(found)} conflict(s): someone changed these since your copy.")
    for c in found:
        click.echo(conflict_line(c))
    click.echo(
        "Keep yours: campfire inspect ID --keep mine (or --force with your values); "
        "take theirs: campfire inspect ID --keep theirs."
    )


def conflict_line(c: dict[str, Any]) -> str:
    """One conflict as a line: the record, mine, theirs, who and when."""
    t = c.get("theirs") or {}
    if c["kind"] == "dq":
        mine, theirs = f"flags {c['mine'].get('dq_flags')}", f"flags {t.get('dq_flags')}"
    else:
        m = c["mine"]
        mine = f"z {_z(m.get('redshift_inspected', 'unchanged'))}, quality "
        mine += _quality(m.get("redshift_quality"))
        theirs = (
            f"z {_z(t.get('redshift_inspected'))}, quality {_quality(t.get('redshift_quality'))}"
        )
    by = t.get("by") or "someone"
    return f"  {c['target']}: mine {mine} | theirs {theirs} (by {by}, {t.get('at') or '?'})"


def _import(cf: Any, path: Path, dry_run: bool, skip_bad_rows: bool) -> None:
    report = cf.import_inspections(path, dry_run=dry_run, skip_bad_rows=skip_bad_rows)
    for line, message in report.errors:
        click.echo(f"{WARN} line {line}: {message}", err=True)
    for r in report.rows if dry_run else []:
        change = []
        if r["redshift"] is not None:
            change.append(f"z {_z(r['current_redshift'])} -> {_z(r['redshift'])}")
        if r["quality"] is not None:
            change.append(f"quality {_quality(r['current_quality'])} -> {_quality(r['quality'])}")
        if r["comment"]:
            change.append("comment")
        click.echo(f"  line {r['line']}: {r['object_id']}: {', '.join(change)}")
    if dry_run:
        click.echo(f"Dry run: {len(report.rows)} row(s) would be applied; nothing was saved.")
    elif report.errors and not report.applied:
        click.echo(
            f"Nothing was saved: {len(report.errors)} row(s) have errors. Fix them, or pass "
            "--skip-bad-rows to save the other rows.",
            err=True,
        )
        sys.exit(1)
    else:
        click.echo(
            f"{OK} Applied {report.applied} row(s): {report.pushed} write(s) sent, "
            f"{report.queued} queued for the next sync."
        )
        for c in report.conflicts:
            click.echo(f"{WARN} conflict:" + conflict_line(c)[1:])


def _flags(values: tuple[str, ...]) -> list[tuple[str, Any]]:
    out = []
    for item in values:
        sid, sep, flags = item.partition("=")
        if not sep or not sid.strip():
            raise click.BadParameter(f"{item!r}: use SPECTRUM=FLAGS, e.g. ID=CHIP_GAP,LOW_SNR")
        text = flags.strip()
        out.append((sid.strip(), int(text) if text.isdigit() else text))
    return out


@click.command()
@click.argument("object_id", required=False, metavar="OBJECT")
@click.option("--z", "redshift", type=float, help="Your redshift (-0.1 to 30).")
@click.option(
    "--clear-redshift",
    is_flag=True,
    help="Remove your inspected redshift (the automatic one shows again).",
)
@click.option("--quality", "-q", help="0-4 or bad, uncertain, probable, secure.")
@click.option("--comment", "-c", help="A comment to add to the object.")
@click.option(
    "--flag",
    "flags",
    multiple=True,
    metavar="SPECTRUM=FLAGS",
    help="Set a spectrum's DQ flags: a bitmask or names (CHIP_GAP,LOW_SNR); repeatable.",
)
@click.option("--force", is_flag=True, help="Apply yours even if someone changed it since.")
@click.option(
    "--keep",
    type=click.Choice(["mine", "theirs"]),
    help="Resolve OBJECT's conflict: apply yours on top of theirs, or take theirs.",
)
@click.option("--conflicts", "show_conflicts", is_flag=True, help="List the conflicts.")
@click.option(
    "--import",
    "import_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE.csv",
    help="Apply a CSV of object_id, redshift, quality, comment.",
)
@click.option("--dry-run", is_flag=True, help="With --import: check and show, save nothing.")
@click.option("--skip-bad-rows", is_flag=True, help="With --import: save the rows that are fine.")
@click.pass_context
@handle_errors
def inspect(
    ctx: click.Context,
    object_id: str | None,
    redshift: float | None,
    clear_redshift: bool,
    quality: str | None,
    comment: str | None,
    flags: tuple[str, ...],
    force: bool,
    keep: str | None,
    show_conflicts: bool,
    import_file: Path | None,
    dry_run: bool,
    skip_bad_rows: bool,
) -> None:
    """Record your inspection of OBJECT (an object id or target id): redshift, quality,
    comment, DQ flags of its spectra.

    Saved in the local catalog at once and sent to the archive (offline, or when the archive
    cannot be reached, it waits for the next campfire sync). Also: --conflicts lists writes
    someone else's change got in the way of, --keep settles one, --import applies a CSV.
    """
    cf = cli_client(ctx)
    if import_file is not None:
        if object_id or show_conflicts:
            raise click.UsageError("--import takes no OBJECT and no --conflicts")
        _import(cf, import_file, dry_run, skip_bad_rows)
        return
    if show_conflicts:
        _conflicts(cf)
        return
    if not object_id:
        raise click.UsageError("give an OBJECT (or --conflicts, or --import FILE.csv)")
    if keep is not None:
        cf.resolve_conflict(object_id, keep=keep)
        click.echo(f"{OK} {object_id}: kept {keep}; {_where(cf, object_id)}.")
        return
    changes = _flags(flags)
    if clear_redshift and redshift is not None:
        raise click.UsageError("give --z or --clear-redshift, not both")
    inspecting = redshift is not None or clear_redshift or quality is not None or comment
    if not inspecting and not changes:
        raise click.UsageError(
            "nothing to save: give --z, --clear-redshift, --quality, --comment or --flag"
        )
    obj = cf.get_object(object_id)
    if obj is not None:
        theirs = {str(s.spectrum_id) for s in obj.spectra}
        for sid, _ in changes:
            if sid not in theirs:
                raise click.BadParameter(f"{sid} is not a spectrum of {obj.object_id}")
    if inspecting:
        obj = cf.inspect(
            object_id, redshift=redshift, quality=quality, comment=comment, force=force,
            clear_redshift=clear_redshift,
        )  # fmt: skip
        click.echo(
            f"{OK} {obj.object_id}: z {_z(obj.redshift_inspected)}, quality "
            f"{_quality(obj.redshift_quality)}" + ("; comment added" if comment else "")
        )
    for sid, mask in changes:
        from campfire.flags import decode_flags

        row = cf.set_dq_flags(sid, mask, force=force)
        names = ", ".join(decode_flags(int(row["dq_flags"]))) or "none"
        click.echo(f"{OK} {sid}: DQ flags {row['dq_flags']} ({names})")
    targets = {obj.object_id if obj is not None else object_id, *(sid for sid, _ in changes)}
    waiting = any(e.target in targets and e.state == "pending" for e in cf.outbox)
    click.echo(f"  {_WAITING if waiting else 'Saved and sent to the archive'}.")
