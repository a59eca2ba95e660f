"""What a download did, as users see it: :class:`DownloadResult`, its failures and sizes.

:func:`campfire.download.run.download` fills a :class:`DownloadResult`; ``cf.download()``
returns it. Its ``repr`` is a one-line summary (counts, size, failures) and in a notebook it
shows as a short summary whose file list is folded away (``<details>``), so downloading
thousands of files does not flood the page. :func:`format_size` is the one way sizes are
written (the CLI's plan, progress, result and ``campfire status`` all use it).

Examples
--------
>>> DownloadResult(downloaded=2, bytes=3_400_000, files=["obs/a.fits", "obs/b.fits"])
DownloadResult(downloaded=2 files, 3.4 MB, failed=0)
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from campfire.sync.result import ResultMapping

__all__ = ["DownloadResult", "Failure", "format_size"]

_SHOWN = 200  # files listed in the notebook view before "... and N more"


def format_size(n: float) -> str:
    """A byte count in decimal units, always with one decimal (bytes as a whole number).

    Examples
    --------
    >>> format_size(450_200_000), format_size(750_000_000), format_size(2.1e9), format_size(512)
    ('450.2 MB', '750.0 MB', '2.1 GB', '512 B')
    """
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    value, i = float(n), 0
    while abs(value) >= 1000 and i < len(units) - 1:
        value, i = value / 1000, i + 1
    return f"{value:.0f} B" if i == 0 else f"{value:.1f} {units[i]}"


@dataclass
class Failure:
    """A file that could not be downloaded, and why."""

    spectrum_id: str
    observation: str
    local_path: str
    reason: str


@dataclass(eq=False, repr=False)
class DownloadResult(ResultMapping):
    """What :func:`~campfire.download.run.download` did; also read as a mapping
    (``result["downloaded"]``).

    Attributes
    ----------
    downloaded, bytes
        Files fetched and verified, and their size.
    files
        Their paths under ``products/`` (``<observation>/<file>``).
    failures
        The files that failed, each with its reason (:class:`Failure`).

    Examples
    --------
    >>> DownloadResult(failures=[Failure("s1", "obs", "obs/s1.fits", "HTTP 404")])
    DownloadResult(downloaded=0 files, 0 B, failed=1: obs/s1.fits: HTTP 404)
    """

    downloaded: int = 0
    bytes: int = 0
    files: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """How many files failed."""
        return len(self.failures)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def _keys(self) -> tuple[str, ...]:
        return ("downloaded", "bytes", "files", "failures", "failed", "ok")

    def __repr__(self) -> str:
        text = f"downloaded={self.downloaded} files, {format_size(self.bytes)}, "
        text += f"failed={self.failed}"
        if self.failures:
            first = self.failures[0]
            more = f" (+{self.failed - 1} more)" if self.failed > 1 else ""
            text += f": {first.local_path}: {first.reason}{more}"
        return f"DownloadResult({text})"

    def _repr_html_(self) -> str:
        def items(lines: list[str]) -> str:
            shown = "".join(f"<li>{html.escape(x)}</li>" for x in lines[:_SHOWN])
            if len(lines) > _SHOWN:
                shown += f"<li>… and {len(lines) - _SHOWN:,} more</li>"
            return f"<ul>{shown}</ul>"

        head = (
            f"<b>campfire download</b>: {self.downloaded:,} file(s) downloaded "
            f"({format_size(self.bytes)}), {self.failed:,} failed"
        )
        parts = [head]
        if self.failures:
            reasons = [f"{f.local_path}: {f.reason}" for f in self.failures]
            parts.append(
                f"<details open><summary>{self.failed:,} failure(s)</summary>"
                f"{items(reasons)}</details>"
            )
        if self.files:
            parts.append(
                f"<details><summary>{len(self.files):,} file(s) under products/</summary>"
                f"{items(self.files)}</details>"
            )
        return "<div>" + "".join(parts) + "</div>"
