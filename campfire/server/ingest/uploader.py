"""Deploy a products directory into a *running* archive server (``deploy-ingest``).

:func:`deploy_remote` checks that the token belongs to an admin (``/auth/whoami``), asks
``/deploy/presign`` for signed upload URLs in batches of 500, PUTs every file under a fresh
``staging/<id>/`` prefix, then ``POST /deploy/ingest`` runs the server's ingest and returns its
report. The URLs are the server's own (local store) or the object store's presigned ones (S3
store); a file the server answers with a multipart plan is PUT part by part, then
``POST /deploy/complete`` assembles it.

Examples
--------
>>> url = "http://127.0.0.1:8765/api/v1"
>>> report = deploy_remote("products/EMBER-UDS", url, key)  # doctest: +SKIP
>>> report["ingested"]  # doctest: +SKIP
1350
"""

from __future__ import annotations

import mimetypes
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from campfire.errors import APIError, AuthenticationError, ValidationError

__all__ = ["deploy_remote", "product_files"]

BATCH = 500


def product_files(products_dir: Path) -> list[Path]:
    """Every regular, non-hidden file under a products directory, sorted."""
    out = []
    for path in sorted(products_dir.rglob("*")):
        rel = path.relative_to(products_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(path)
    return out


def _check(resp: Any, what: str) -> dict[str, Any]:
    if resp.status_code in (401, 403):
        try:
            detail = resp.json().get("error_description") or resp.json().get("error")
        except ValueError:
            detail = resp.text[:200]
        raise AuthenticationError(f"{what}: {detail}", status_code=resp.status_code)
    if resp.status_code != 200:
        raise APIError(f"{what} failed: HTTP {resp.status_code} {resp.text[:300]}",
                       status_code=resp.status_code)  # fmt: skip
    if not resp.content and resp.request.method == "PUT":  # an object store's empty answer
        return {}
    body: dict[str, Any] = resp.json()
    return body


def _put_parts(http: Any, path: Path, key: str, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """PUT ``path`` in ``plan["part_size"]`` parts to ``plan["part_urls"]``; their ETags."""
    parts = []
    size = int(plan["part_size"])
    with open(path, "rb") as fh:
        for number, url in enumerate(plan["part_urls"], start=1):
            chunk = fh.read(size)
            put = http.put(url, data=chunk, timeout=600)
            _check(put, f"upload of {key} (part {number})")
            etag = put.headers.get("ETag")
            if not etag:
                raise APIError(f"upload of {key} (part {number}): the store sent no ETag")
            parts.append({"part_number": number, "etag": etag})
    return parts


def deploy_remote(products_dir: str | os.PathLike[str], base_url: str, token: str,
                  progress: Callable[[str], None] | None = None,
                  session: Any = None) -> dict[str, Any]:  # fmt: skip
    """Upload a products directory to a running server and ingest it there.

    Parameters
    ----------
    products_dir
        The program's products directory.
    base_url
        The server's base URL, including ``/api/v1``.
    token
        An admin's API key or access token.
    progress
        Called with each uploaded file's relative path.
    session
        A ``requests.Session`` to use (default: a new one).

    Returns
    -------
    dict
        The server's ingest report (``ingested``, ``unchanged``, ``skipped`` …).

    Raises
    ------
    ValidationError
        If ``products_dir`` has no ``program.json``.
    AuthenticationError
        If the token is invalid or not an admin's.
    """
    import requests

    root = Path(products_dir)
    if not (root / "program.json").is_file():
        raise ValidationError(f"{root} is not a products directory (no program.json)")
    base = base_url.rstrip("/")
    http = session or requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    me = _check(http.get(base + "/auth/whoami", headers=auth, timeout=30), "authentication")
    if not me.get("is_admin"):
        raise AuthenticationError(f"{me.get('email')} is not an admin; deploying needs an admin")
    prefix = f"staging/{uuid.uuid4().hex}/"
    files = product_files(root)
    for i in range(0, len(files), BATCH):
        batch = files[i : i + BATCH]
        keys = {prefix + p.relative_to(root).as_posix(): p for p in batch}
        uploads = [
            {
                "key": k,
                "content_type": mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                "size": p.stat().st_size,
            }
            for k, p in keys.items()
        ]
        body = {"bucket": "data", "uploads": uploads}
        resp = http.post(base + "/deploy/presign", json=body, headers=auth, timeout=60)
        answer = _check(resp, "presign")
        urls, multipart = answer["urls"], answer.get("multipart") or {}
        types = {u["key"]: str(u["content_type"]) for u in uploads}
        for key, path in keys.items():
            if key in multipart:
                parts = _put_parts(http, path, key, multipart[key])
                done = {"bucket": "data", "key": key, "upload_id": multipart[key]["upload_id"],
                        "parts": parts}  # fmt: skip
                _check(
                    http.post(base + "/deploy/complete", json=done, headers=auth, timeout=300),
                    f"assembling {key}",
                )
            else:
                with open(path, "rb") as fh:
                    put = http.put(
                        urls[key], data=fh, headers={"Content-Type": types[key]}, timeout=300
                    )
                    _check(put, f"upload of {key}")
            if progress is not None:
                progress(path.relative_to(root).as_posix())
    return _check(
        http.post(base + "/deploy/ingest", json={"prefix": prefix}, headers=auth, timeout=3600),
        "ingest",
    )
