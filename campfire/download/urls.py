"""Signed URLs of a selection, for other download tools: a table's rows as a ``curl`` script.

``cf.download_urls(...)`` and ``campfire download --urls`` list each selected file's signed URL
with its SHA-256 and size (rows from :meth:`~campfire.download.service.DownloadService.urls`);
:func:`curl_script` turns those rows into a POSIX ``sh`` script that fetches every file with
``curl`` (resuming partial files, retrying transient errors, skipping files already there and
verified) into the same ``<observation>/<file>`` layout as ``products/``, then checks them all
with ``sha256sum -c`` (``shasum -a 256 -c`` where GNU coreutils are missing).

Examples
--------
>>> rows = [{"url": "https://a.example/f?sig=1&e=2", "path": "obs/f.fits",
...          "sha256": "ab" * 32, "size": 10, "expires_at": None}]
>>> "curl" in curl_script(rows) and "sha256sum" in curl_script(rows)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from campfire.download.result import format_size
from campfire.errors import ValidationError

__all__ = ["curl_script", "shell_quote"]


def shell_quote(text: str) -> str:
    """``text`` in single quotes for a POSIX shell.

    Examples
    --------
    >>> print(shell_quote("a&b"))
    'a&b'
    """
    return "'" + text.replace("'", "'\\''") + "'"


_HEAD = """#!/bin/sh
# Download {n} CAMPFIRE file(s) ({size}) with curl, then verify each SHA-256.
# Written by campfire {version} on {now}.{expiry}
# Files go under the current directory as <observation>/<file> (the layout of
# $CAMPFIRE_ROOT/products); run it again to resume: verified files are skipped.
set -eu
if command -v sha256sum >/dev/null 2>&1; then check="sha256sum"; else check="shasum -a 256"; fi

fetch() {{  # fetch URL PATH SHA256
    if [ -f "$2" ] && printf '%s  %s\\n' "$3" "$2" | $check -c --status 2>/dev/null; then
        return 0
    fi
    mkdir -p "$(dirname "$2")"
    curl --fail --location --silent --show-error --retry 5 --retry-delay 2 \\
        --continue-at - --output "$2.part" "$1"
    mv "$2.part" "$2"
}}

"""


def curl_script(rows: Iterable[Mapping[str, Any]]) -> str:
    """A POSIX ``sh`` script that downloads ``rows`` with ``curl`` and verifies them.

    Parameters
    ----------
    rows
        ``url``, ``path`` (``<observation>/<file>``), ``sha256`` (hex) and ``size`` per file,
        as ``download_urls`` gives them; ``expires_at`` is quoted in the script's header.

    Raises
    ------
    ValidationError
        A row has no SHA-256 (the script could not verify it) or an unsafe path.

    Examples
    --------
    >>> curl_script([]).startswith("#!/bin/sh")
    True
    """
    from campfire._version import __version__

    rows = list(rows)
    for r in rows:
        path = str(r["path"])
        if not r.get("sha256"):
            raise ValidationError(f"{path} has no SHA-256 in the archive: it cannot be verified")
        if path.startswith("/") or ".." in path.split("/") or "'" in path:
            raise ValidationError(f"unsafe path for a script: {path!r}")
    expires = sorted({str(r["expires_at"]) for r in rows if r.get("expires_at")})
    expiry = (
        f"\n# The signed URLs expire at {expires[0]}: write a new script after that."
        if expires
        else ""
    )
    out = [
        _HEAD.format(
            n=len(rows),
            size=format_size(sum(int(r.get("size") or 0) for r in rows)),
            version=__version__,
            now=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            expiry=expiry,
        )
    ]
    for r in rows:
        url, path, digest = shell_quote(str(r["url"])), str(r["path"]), str(r["sha256"])
        out.append(f"fetch {url} {shell_quote(path)} {digest}\n")
    out.append("\n$check -c <<'CAMPFIRE_SHA256'\n")
    out += [f"{r['sha256']}  {r['path']}\n" for r in rows]
    out.append("CAMPFIRE_SHA256\n")
    return "".join(out)
