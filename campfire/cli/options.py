"""Command-line options several ``campfire`` commands share, defined once.

:func:`selection_options` is what ``campfire download`` (and any command that acts on a
selection, such as ``export-html``) takes to choose objects and spectra: ``--obs``,
``--program``, ``--field`` and ``--grating`` filters, and ``--object``, ``--tag`` and
``--from-file`` selections. Each takes several values after one flag, as the upstream CLI does
(``--obs a b``), and may be repeated (``--obs a --obs b``); the values run until the next
option (or ``--``).

Examples
--------
::

    @click.command()
    @archive_option("Archive directory (archive.db + store/).")
    def serve(archive_dir: Path) -> None: ...

    @click.command()
    @selection_options
    def export(observations, programs, fields, gratings, objects, tags, from_file): ...
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = [
    "MultiValueOption",
    "archive_option",
    "bounded_int_option",
    "multi_option",
    "read_id_file",
    "selection_options",
    "store_option",
]


def archive_option(help: str) -> Callable[[Any], Any]:
    """``--archive DIR`` (``$CAMPFIRE_ARCHIVE``; default ``campfire-archive``): ``archive_dir``."""
    return click.option(
        "--archive",
        "archive_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default="campfire-archive",
        show_default=True,
        envvar="CAMPFIRE_ARCHIVE",
        help=help,
    )


def store_option(fn: Any) -> Any:
    """``--store URL`` (``$CAMPFIRE_STORE_URL``; default: the archive's own): ``store``.

    ``file:///dir`` or ``s3://bucket/prefix`` (endpoint, region and credentials from the
    standard AWS environment: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...).
    """
    return click.option(
        "--store",
        "store",
        default=None,
        metavar="URL",
        envvar="CAMPFIRE_STORE_URL",
        help="File store: file:///dir (default: the archive's store/) or s3://bucket/prefix "
        "(endpoint and credentials from the AWS_* environment). Remembered by the archive.",
    )(fn)


def database_option() -> Callable[[Any], Any]:
    """``--database URL`` (``$CAMPFIRE_DATABASE_URL``): ``database``, None for the archive
    directory's own (its ``archive.db``, or the database it was bound to before).
    """
    return click.option(
        "--database",
        "database",
        default=None,
        metavar="URL",
        envvar="CAMPFIRE_DATABASE_URL",
        help="Catalog database: sqlite:///path/archive.db or postgresql://user@host:port/db "
        "(default: the archive directory's archive.db, or the database it was bound to).",
    )


def bounded_int_option(
    name: str, default: int, low: int, high: int, help: str, **extra: Any
) -> Callable[[Any], Any]:
    """An integer option with a shown default that rejects values outside ``[low, high]``."""
    return click.option(
        name, default=default, show_default=True, type=click.IntRange(low, high), help=help, **extra
    )


class MultiValueOption(click.Option):
    """A repeatable option that also takes several values after one flag (``--obs a b``).

    The values after the flag are taken up to the next argument that starts with ``-``; the
    option's value is the tuple of them all, as ``multiple=True`` gives.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        """Register the option, then let it take the values that follow its first one."""
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            take_one = opt.process

            def process(value: Any, state: Any, take_one: Any = take_one) -> None:
                take_one(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    take_one(state.rargs.pop(0), state)

            opt.process = process


def multi_option(*names: str, **kwargs: Any) -> Callable[[Any], Any]:
    """``click.option`` for a :class:`MultiValueOption` (several values, repeatable).

    Examples
    --------
    ::

        @multi_option("--obs", "observations", metavar="NAME...", help="Observation names.")
    """
    return click.option(*names, cls=MultiValueOption, **kwargs)


def read_id_file(path: Path) -> list[str]:
    """The ids in a text file, one a line (blank lines and ``#`` comments skipped; a line's
    first word or comma-separated field is the id, so a CSV's first column works too).

    Examples
    --------
    ::

        read_id_file(Path("ids.txt"))  # ['ember_uds_p4_123456', 'J021737.42-051208.5']
    """
    from campfire.errors import ValidationError

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read ids from {path}: {exc}") from None
    ids = []
    for line in text.splitlines():
        word = line.split("#", 1)[0].replace(",", " ").strip().split(" ", 1)[0].strip()
        if word and word.lower() not in ("object_id", "spectrum_id", "target_id", "id"):
            ids.append(word)
    if not ids:
        raise ValidationError(f"{path} holds no ids (one object, target or spectrum id a line)")
    return ids


_SELECTION = (
    multi_option(
        "--obs", "observations", metavar="NAME...", help="Observation names (several, repeatable)."
    ),
    multi_option("--program", "programs", metavar="NAME...", help="Program slugs."),
    multi_option("--field", "fields", metavar="NAME...", help="Field names."),
    multi_option("--grating", "gratings", metavar="NAME...", help="Gratings, e.g. PRISM G395M."),
    multi_option(
        "--object",
        "objects",
        metavar="ID...",
        help="Objects: names (J021737.42-051208.5) or target ids (ember_uds_p4_123456).",
    ),
    multi_option("--tag", "tags", metavar="SLUG...", help="Objects with these tags, e.g. lrd."),
    click.option(
        "--from-file",
        "from_file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        metavar="FILE",
        help="Object, target or spectrum ids, one a line.",
    ),
)


def selection_options(fn: Any) -> Any:
    """Add the selection options (see the module docstring) to a command.

    The command receives ``observations, programs, fields, gratings, objects, tags`` (tuples)
    and ``from_file`` (a Path or None; read it with :func:`read_id_file`).
    """
    for option in reversed(_SELECTION):
        fn = option(fn)
    return fn
