"""Serve one stored file over HTTP: Range (206/416), strong ETag, conditional GET, HEAD.

The ETag is the file's SHA-256 (what the catalog publishes), so a client resuming a download
with ``If-Range`` gets the rest of the *same* bytes or, if the file changed, all of the new
ones. Files are read in 1 MiB blocks on a worker thread.

Examples
--------
>>> parse_range("bytes=0-99", 1000), parse_range("bytes=-10", 1000), parse_range("bytes=990-", 1000)
((0, 99), (990, 999), (990, 999))
>>> parse_range("bytes=2000-", 1000)
'unsatisfiable'
>>> parse_range("items=0-1", 1000) is None, parse_range("bytes=--5", 1000) is None
(True, True)
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
from starlette.types import Receive, Scope, Send

__all__ = ["CHUNK", "RangeFileResponse", "parse_range"]

CHUNK = 1 << 20


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The inclusive byte range a ``Range`` header asks for.

    Returns
    -------
    tuple, ``'unsatisfiable'`` or None
        ``(start, end)``; ``'unsatisfiable'`` (answer 416); None to ignore the header (answer 200:
        absent, malformed or multi-range).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None  # syntactically invalid (``bytes=--5``, ``bytes=a-b``): ignored, RFC 9110
    if first == "" and last == "":
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "unsatisfiable"
            return (max(0, size - n), size - 1) if size else "unsatisfiable"
        start = int(first)
        end = int(last) if last.strip() else size - 1
    except ValueError:
        return None
    if start < 0 or (last.strip() and end < start):
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


class RangeFileResponse:
    """An ASGI response for a file with Range, ETag and conditional-request support.

    Parameters
    ----------
    path
        The file on disk.
    etag
        The strong entity tag, without quotes (e.g. the SHA-256 hex).
    media_type, filename
        ``Content-Type`` and the ``Content-Disposition`` file name.
    headers
        Extra headers.
    """

    def __init__(
        self,
        path: Path,
        etag: str,
        media_type: str = "application/fits",
        filename: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.etag = f'"{etag}"'
        self.media_type = media_type
        self.filename = filename
        self.extra = headers or {}

    def _headers(self, status_headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
        base = [("accept-ranges", "bytes"), ("etag", self.etag), ("content-type", self.media_type)]
        if self.filename:
            base.append(("content-disposition", f'attachment; filename="{self.filename}"'))
        base += list(self.extra.items()) + status_headers
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in base]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        size = os.stat(self.path).st_size
        req = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        head = scope["method"] == "HEAD"
        inm = req.get("if-none-match")
        if inm and (inm.strip() == "*" or self.etag in [t.strip() for t in inm.split(",")]):
            await send({"type": "http.response.start", "status": 304, "headers": self._headers([])})
            await send({"type": "http.response.body", "body": b""})
            return
        rng = parse_range(req.get("range"), size)
        if_range = req.get("if-range")
        if rng is not None and if_range is not None and if_range.strip() != self.etag:
            rng = None
        if rng == "unsatisfiable":
            hdrs = self._headers([("content-range", f"bytes */{size}"), ("content-length", "0")])
            await send({"type": "http.response.start", "status": 416, "headers": hdrs})
            await send({"type": "http.response.body", "body": b""})
            return
        if isinstance(rng, tuple):
            start, end = rng
            status = 206
            extra = [("content-range", f"bytes {start}-{end}/{size}")]
        else:
            start, end, status, extra = 0, size - 1, 200, []
        length = end - start + 1 if size else 0
        hdrs = self._headers([*extra, ("content-length", str(length))])
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        if head or length == 0:
            await send({"type": "http.response.body", "body": b""})
            return
        with open(self.path, "rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining > 0:
                block = await anyio.to_thread.run_sync(fh.read, min(CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                await send(
                    {"type": "http.response.body", "body": block, "more_body": remaining > 0}
                )
