"""Command-line options several ``campfire`` commands share, defined once.

Examples
--------
::

    @click.command()
    @archive_option("Archive directory (archive.db + store/).")
    def serve(archive_dir: Path) -> None: ...
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["archive_option", "bounded_int_option"]


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


def bounded_int_option(
    name: str, default: int, low: int, high: int, help: str, **extra: Any
) -> Callable[[Any], Any]:
    """An integer option with a shown default that rejects values outside ``[low, high]``."""
    return click.option(
        name, default=default, show_default=True, type=click.IntRange(low, high), help=help, **extra
    )
