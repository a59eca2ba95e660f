"""Remote deploy (``deploy-ingest`` extension): presigned PUT uploads, then ingest.

``POST /deploy/presign`` (admin) answers signed ``PUT`` URLs. On a local store they are served
by this app (``/api/v1/deploy/upload/<key>?bucket=&expires=&uid=&sig=``) and each upload lands
in ``<archive>/uploads/<bucket>/<key>``. On an S3 store they are the object store's own presigned
URLs for ``.uploads/<bucket>/<key>`` in the store, so the bytes never pass through the app; a
file whose announced ``size`` is above 64 MiB gets a multipart upload instead (part URLs, then
``POST /deploy/complete`` with the parts' ETags). ``POST /deploy/ingest {"prefix":
"staging/<id>/"}`` (admin) runs :func:`campfire.server.ingest.deploy.deploy_products` on the
uploaded products (read from the store) and answers its report.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campfire.server.auth.access import Principal, authenticate
from campfire.server.http.replies import (
    ApiError,
    data_error,
    json_response,
    oauth_error,
    read_json_object,
)
from campfire.server.http.signing import UPLOAD_URL_SECONDS
from campfire.server.routes.files import api_root
from campfire.server.storage.errors import UploadTooLargeError
from campfire.server.storage.filestore import check_key

__all__ = ["MAX_UPLOAD_BYTES", "ROUTES"]

MAX_UPLOADS = 500
MAX_UPLOAD_BYTES = 4 << 30
BUCKETS = ("data", "tiles")
STAGING = ".uploads"  # where uploads wait in an object store, until ingest


def _admin(request: Request) -> Principal:
    principal = authenticate(request.app.state.archive, request.headers.get("authorization"))
    if principal is None:
        raise oauth_error(401, "unauthorized", "Valid authentication required")
    request.state.principal = principal  # for the access log
    if not principal.is_admin:
        raise oauth_error(403, "forbidden", "Admin access required for deployment")
    return principal


def _invalid_request(status: int, message: str) -> ApiError:
    return oauth_error(status, "invalid_request", message)


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, _invalid_request)


async def presign(request: Request) -> Response:
    """``POST /deploy/presign``: signed upload URLs for up to 500 keys."""
    principal = _admin(request)
    body = await _body(request)
    uploads = body.get("uploads")
    if not isinstance(uploads, list) or not uploads:
        raise oauth_error(400, "invalid_request", "uploads must be a non-empty array")
    if len(uploads) > MAX_UPLOADS:
        raise oauth_error(400, "invalid_request", f"at most {MAX_UPLOADS} uploads per request")
    bucket = body.get("bucket") or "data"
    if bucket not in BUCKETS:
        raise oauth_error(400, "invalid_request", f"bucket must be one of {', '.join(BUCKETS)}")
    signer, store = request.app.state.signer, request.app.state.archive.store
    urls: dict[str, str] = {}
    multipart: dict[str, Any] = {}
    for i, item in enumerate(uploads):
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str):
            raise oauth_error(
                400, "invalid_request", f'uploads[{i}] must be {{"key": "<relative path>"}}'
            )
        size = item.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise oauth_error(400, "invalid_request", f"uploads[{i}].size must be a byte count")
        if size is not None and size > MAX_UPLOAD_BYTES:
            raise data_error(413, f"Upload larger than {MAX_UPLOAD_BYTES} bytes: {key}")
        try:
            check_key(key)
        except ValueError as exc:
            raise oauth_error(400, "invalid_request", str(exc)) from None
        if store.local_path(STAGING) is None:  # an object store: upload to it directly
            plan = await run_in_threadpool(
                store.presign_put, f"{STAGING}/{bucket}/{key}", size, UPLOAD_URL_SECONDS
            )
            if "url" in plan:
                urls[key] = plan["url"]
            else:
                multipart[key] = plan
            continue
        q = signer.query(
            "PUT", f"/deploy/upload/{bucket}/{key}", principal.user_id, UPLOAD_URL_SECONDS
        )
        urls[key] = f"{api_root(request)}/deploy/upload/{quote(key)}?" + urlencode(
            {"bucket": bucket, **q}
        )
    return json_response({"urls": urls, **({"multipart": multipart} if multipart else {})})


async def complete(request: Request) -> Response:
    """``POST /deploy/complete {"key", "upload_id", "parts": [{"part_number", "etag"}]}``:
    assemble a multipart upload to an S3 store (``bucket`` as in ``/deploy/presign``).
    """
    _admin(request)
    body = await _body(request)
    key, upload_id, parts = body.get("key"), body.get("upload_id"), body.get("parts")
    bucket = body.get("bucket") or "data"
    if bucket not in BUCKETS:
        raise oauth_error(400, "invalid_request", f"bucket must be one of {', '.join(BUCKETS)}")
    if not isinstance(key, str) or not isinstance(upload_id, str) or not isinstance(parts, list):
        raise oauth_error(
            400, "invalid_request", 'give {"key", "upload_id", "parts": [{"part_number", "etag"}]}'
        )
    if not parts or not all(
        isinstance(p, dict) and isinstance(p.get("part_number"), int) and p.get("etag")
        for p in parts
    ):
        raise oauth_error(400, "invalid_request", 'each part must be {"part_number", "etag"}')
    try:
        check_key(key)
    except ValueError as exc:
        raise oauth_error(400, "invalid_request", str(exc)) from None
    store = request.app.state.archive.store
    if store.local_path(STAGING) is not None:
        raise oauth_error(400, "invalid_request", "this archive's store takes no multipart uploads")
    try:
        await run_in_threadpool(
            store.complete_upload, f"{STAGING}/{bucket}/{key}", upload_id, parts, MAX_UPLOAD_BYTES
        )
    except UploadTooLargeError as exc:  # the 4 GiB cap of /deploy/upload, on S3 too
        raise data_error(413, str(exc)) from None
    except OSError as exc:
        raise data_error(502, f"The file store could not assemble {key}: {exc}") from None
    except Exception as exc:  # the store refused the parts (botocore ClientError)
        raise oauth_error(
            400, "invalid_request", f"multipart upload of {key} not completed: {exc}"
        ) from None
    return json_response({"key": key, "completed": True})


async def upload(request: Request) -> Response:
    """``PUT /deploy/upload/<key>?bucket&expires&uid&sig``: store one uploaded file."""
    key = request.path_params["key"]
    q = request.query_params
    bucket = q.get("bucket") or "data"
    if not request.app.state.signer.verify(
        "PUT", f"/deploy/upload/{bucket}/{key}", q.get("uid"), q.get("expires"), q.get("sig")
    ):
        raise data_error(403, "Invalid or expired upload signature: presign again")
    try:
        check_key(key)
    except ValueError as exc:
        raise data_error(400, str(exc)) from None
    archive = request.app.state.archive
    dest = archive.uploads_dir / bucket / key
    clash = data_error(
        409,
        f"Upload key {key!r} clashes with an earlier upload (a file where a folder must be, or "
        "a folder where a file must be): upload under a fresh staging prefix",
    )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a parent of the key is an uploaded file
        raise clash from None
    if dest.is_dir():  # the key is a folder of earlier uploads
        raise clash
    fd, tmp = tempfile.mkstemp(prefix=".up-", dir=dest.parent)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise data_error(413, f"Upload larger than {MAX_UPLOAD_BYTES} bytes")
                digest.update(chunk)
                fh.write(chunk)
        try:
            os.replace(tmp, dest)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):  # lost a race
            raise clash from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return json_response({"key": key, "size": size, "sha256": digest.hexdigest()})


async def ingest(request: Request) -> Response:
    """``POST /deploy/ingest {"prefix": "staging/<id>/"}``: ingest an uploaded products tree."""
    from campfire.server.ingest.deploy import deploy_products

    principal = _admin(request)
    body = await _body(request)
    prefix = str(body.get("prefix") or "").strip("/")
    try:
        check_key(prefix)
    except ValueError as exc:
        raise oauth_error(400, "invalid_request", f"prefix: {exc}") from None
    archive = request.app.state.archive
    if archive.store.local_path(STAGING) is None:
        from campfire.server.ingest.staging import ingest_staged

        try:
            report = await run_in_threadpool(
                ingest_staged, archive, f"{STAGING}/data/{prefix}/", principal.user_id
            )
        except FileNotFoundError:
            raise oauth_error(
                400, "invalid_request", f"nothing uploaded under {prefix}/ (program.json missing)"
            ) from None
        return json_response(report.to_dict())
    folder = archive.uploads_dir / "data" / prefix
    if not (folder / "program.json").is_file():
        raise oauth_error(
            400, "invalid_request", f"nothing uploaded under {prefix}/ (program.json missing)"
        )
    report = await run_in_threadpool(
        deploy_products, folder, archive, deployed_by=principal.user_id
    )
    shutil.rmtree(folder, ignore_errors=True)
    return json_response(report.to_dict())


ROUTES = [
    Route("/deploy/presign", presign, methods=["POST"]),
    Route("/deploy/upload/{key:path}", upload, methods=["PUT"]),
    Route("/deploy/complete", complete, methods=["POST"]),
    Route("/deploy/ingest", ingest, methods=["POST"]),
]
