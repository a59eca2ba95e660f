"""The archive's file store in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Ceph).

:class:`S3FileStore` implements :class:`~campfire.server.storage.filestore.FileStore` with boto3.
The endpoint, region and credentials come only from the standard AWS environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``),
so the same archive runs on any of them unchanged; with an endpoint set, requests use path-style
addressing (``<endpoint>/<bucket>/<key>``), which every S3-compatible store answers.

Deduplication is keyed by SHA-256, as on disk: given a digest, the bytes go once into
``<prefix>/.blobs/<hh>/<digest>`` and the key itself is an empty object whose metadata names the
blob (``campfire-blob``) and its size (``campfire-size``). Reads follow that pointer; presigned
downloads point at the blob (with the key's file name as ``Content-Disposition``). Keys stored
without a digest hold their bytes themselves.

File bytes never pass through the app: downloads are answered with a short-lived presigned GET
(:meth:`S3FileStore.presign_get`) and deploy uploads go to presigned PUT URLs
(:meth:`S3FileStore.presign_put`), in parts above :attr:`S3FileStore.multipart_threshold`.

Examples
--------
>>> store = S3FileStore("campfire-archive", "prod")  # doctest: +SKIP
>>> store.put_bytes("spectra/a.json", b"{}", "sha256:44136f...")  # doctest: +SKIP
>>> store.presign_get("spectra/a.json", 300)  # doctest: +SKIP
'https://.../campfire-archive/prod/.blobs/44/44136f...?X-Amz-Signature=...'
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from campfire.errors import ValidationError
from campfire.server.storage.errors import UploadTooLargeError
from campfire.server.storage.filestore import check_key

__all__ = ["S3FileStore"]

_BLOB_META, _SIZE_META = "campfire-blob", "campfire-size"
_GC_MIN_AGE = 600  # seconds: a blob younger than this may be waiting for its key to be written


def _missing(exc: Exception) -> bool:
    """Whether a botocore ``ClientError`` says the object (or bucket) is not there."""
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


def _failed(full: str, exc: Exception) -> OSError:
    """An ``OSError`` for a request the object store failed (the routes answer 502)."""
    return OSError(f"the object store failed on {full}: {exc}")


class S3FileStore:
    """A :class:`~campfire.server.storage.filestore.FileStore` in an S3-compatible bucket.

    Parameters
    ----------
    bucket
        The bucket (it must exist: creating buckets is the operator's job).
    prefix
        A folder inside the bucket for this archive's keys ('' for the bucket's root).
    client
        A boto3 S3 client to use (default: one from the standard AWS environment).

    Raises
    ------
    ValidationError
        If the bucket cannot be reached with the environment's endpoint and credentials.

    Examples
    --------
    >>> S3FileStore("campfire-archive", "prod").url  # doctest: +SKIP
    's3://campfire-archive/prod'
    """

    #: uploads above this many bytes are presigned as multipart uploads (64 MiB)
    multipart_threshold = 64 << 20
    #: the part size of a multipart upload (S3 takes 5 MiB to 5 GiB, at most 10,000 parts)
    part_size = 64 << 20

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.client = client if client is not None else self._client()
        self._known: set[str] = set()  # blobs known to exist (blobs never change)
        #: local files that are copies of objects of this store (see :meth:`copies_of`)
        self._origins: dict[Path, str] = {}
        self._signed: dict[tuple[str, str, str, int], tuple[float, str]] = {}  # recent URLs
        self._lock = threading.Lock()
        self._check_bucket()

    @staticmethod
    def _client() -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ValidationError(
                "an s3:// store needs boto3: pip install 'campfire[server]'"
            ) from None
        path_style = bool(os.environ.get("AWS_ENDPOINT_URL"))
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
            retries={"max_attempts": 4, "mode": "standard"},
            max_pool_connections=32,
        )
        return boto3.session.Session().client("s3", config=config)

    def _check_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        endpoint = self.client.meta.endpoint_url
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            what = "does not exist" if _missing(exc) else f"refused us ({exc})"
            raise ValidationError(
                f"the store bucket {self.bucket!r} at {endpoint} {what}: create it, or check "
                "AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from None
        except BotoCoreError as exc:
            raise ValidationError(
                f"cannot reach the store bucket {self.bucket!r} at {endpoint} ({exc}): check "
                "AWS_ENDPOINT_URL and the AWS credentials in the environment"
            ) from None

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _blob(self, digest: str) -> str:
        name = digest.removeprefix("sha256:")
        if not name.replace(".", "").replace("-", "").isalnum():
            raise ValueError(f"invalid content digest {digest!r}")
        return self._full(f".blobs/{name[:2]}/{name}")

    def _head(self, full: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=full)
        except Exception as exc:
            if _missing(exc):
                return None
            raise _failed(full, exc) from exc
        return head

    def _target(self, key: str) -> tuple[str, int]:
        """The object holding ``key``'s bytes (its blob, or itself) and their size."""
        head = self._head(self._full(key))
        if head is None:
            raise FileNotFoundError(f"{self.url}/{key}")
        meta = head.get("Metadata") or {}
        if _BLOB_META in meta:
            return self._blob(meta[_BLOB_META]), int(meta.get(_SIZE_META) or 0)
        return self._full(key), int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self._head(self._full(key)) is not None

    def size(self, key: str) -> int:
        """The size in bytes of ``key``."""
        return self._target(key)[1]

    def _put_deduplicated(
        self, key: str, digest: str, size: int, upload: Callable[[str], None]
    ) -> None:
        blob = self._blob(digest)
        if blob not in self._known:
            if self._head(blob) is None:
                upload(blob)
            with self._lock:
                self._known.add(blob)
        meta = {_BLOB_META: digest.removeprefix("sha256:"), _SIZE_META: str(size)}
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=b"", Metadata=meta)

    @contextlib.contextmanager
    def copies_of(self, origins: dict[Path, str]) -> Iterator[None]:
        """While open, :meth:`put_file` of a local file in ``origins`` (``{path: key}``, the
        store key it was downloaded from) copies that object inside the store
        (``copy_object``) instead of uploading the bytes again.

        Examples
        --------
        >>> with store.copies_of({Path("/tmp/x/a.fits"): ".uploads/data/a.fits"}):  # doctest: +SKIP
        ...     store.put_file("spectra/a.fits", Path("/tmp/x/a.fits"), digest)
        """
        with self._lock:
            self._origins.update(origins)
        try:
            yield
        finally:
            with self._lock:
                for path in origins:
                    self._origins.pop(path, None)

    def put_file(self, key: str, src: Path, digest: str | None = None) -> None:
        """Upload ``src`` under ``key`` (deduplicated by ``digest``); a copy of an object of
        this store (:meth:`copies_of`) is copied inside the store, not uploaded.
        """

        def upload(full: str) -> None:
            origin = self._origins.get(Path(src))
            if origin is not None:  # the bytes are in the store already: a server-side copy
                source = {"Bucket": self.bucket, "Key": self._full(origin)}
                self.client.copy_object(Bucket=self.bucket, Key=full, CopySource=source)
                return
            self.client.upload_file(str(src), self.bucket, full)

        if digest is None:
            upload(self._full(key))
        else:
            self._put_deduplicated(key, digest, os.path.getsize(src), upload)

    def put_bytes(self, key: str, data: bytes, digest: str | None = None) -> None:
        """Store ``data`` under ``key`` (deduplicated by ``digest``)."""

        def upload(full: str) -> None:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data)

        if digest is None:
            upload(self._full(key))
        else:
            self._put_deduplicated(key, digest, len(data), upload)

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        full = self._full(key)
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=full)
            meta = resp.get("Metadata") or {}
            if _BLOB_META in meta:
                resp["Body"].read()
                resp = self.client.get_object(Bucket=self.bucket, Key=self._blob(meta[_BLOB_META]))
            data: bytes = resp["Body"].read()
        except Exception as exc:
            if _missing(exc):
                raise FileNotFoundError(f"{self.url}/{key}") from None
            raise _failed(full, exc) from exc
        return data

    def get_file(self, key: str, dest: Path) -> None:
        """Download ``key`` into the local file ``dest``."""
        full, _ = self._target(key)
        self.client.download_file(self.bucket, full, str(dest))

    def delete(self, key: str) -> None:
        """Remove ``key`` if present (its blob goes at the next :meth:`collect_garbage`)."""
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def _listing(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", [])

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with ``prefix``, sorted (blobs left out)."""
        root = f"{self.prefix}/" if self.prefix else ""
        for item in self._listing(root + prefix):
            rel = item["Key"][len(root) :]
            if not rel.startswith(".blobs/"):
                yield rel

    def collect_garbage(self) -> int:
        """Remove blobs no key points at any more (older than ten minutes); return how many.

        Reads every key's metadata (one ``HEAD`` each, 16 at a time).
        """
        root = f"{self.prefix}/" if self.prefix else ""
        blobs = list(self._listing(root + ".blobs/"))
        if not blobs:
            return 0
        keys = [k for k in self.keys() if not k.startswith(".uploads/")]

        def pointer(key: str) -> str | None:
            head = self._head(self._full(key))
            return None if head is None else (head.get("Metadata") or {}).get(_BLOB_META)

        with ThreadPoolExecutor(16) as pool:
            used = {self._blob(d) for d in pool.map(pointer, keys) if d}
        cutoff = time.time() - _GC_MIN_AGE
        gone = [
            b["Key"]
            for b in blobs
            if b["Key"] not in used and b["LastModified"].timestamp() < cutoff
        ]
        for i in range(0, len(gone), 1000):
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in gone[i : i + 1000]], "Quiet": True},
            )
        with self._lock:
            self._known.difference_update(gone)
        return len(gone)

    def local_path(self, key: str) -> None:
        """None: objects in a bucket have no local path."""
        return None

    def _known_blob(self, digest: str) -> str | None:
        """The blob of ``digest`` if it exists (remembered: blobs never change), else None."""
        blob = self._blob(digest)
        if blob not in self._known:
            if self._head(blob) is None:
                return None
            with self._lock:
                self._known.add(blob)
        return blob

    def presign_get(
        self,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        method: str = "GET",
        digest: str | None = None,
    ) -> str:
        """A presigned ``GET`` (or ``HEAD``) URL of ``key``'s bytes, valid ``expires_in`` s.

        Given the ``digest`` the catalog publishes for ``key``, the URL is that content's blob
        (no request to the store once the blob is known to exist): exactly the bytes the
        client will verify. It cannot be revoked before it expires: keep ``expires_in`` short.
        """
        full = self._known_blob(digest) if digest else None
        if full is None:
            full, _ = self._target(key)
        return self._sign(full, method, filename, expires_in)

    def presign_ready(
        self, key: str, expires_in: int, *, filename: str | None = None, method: str = "GET",
        digest: str | None = None,
    ) -> str | None:  # fmt: skip
        """:meth:`presign_get`'s URL when ``digest``'s blob is already known to exist (signing
        is local: no request to the store), else None.
        """
        if not digest:
            return None
        blob = self._blob(digest)
        if blob not in self._known:
            return None
        return self._sign(blob, method, filename, expires_in)

    def _sign(self, full: str, method: str, filename: str | None, expires_in: int) -> str:
        # a URL signed less than a fifth of its lifetime ago is reused (signing costs ~1 ms):
        # it still has at least 80 % of ``expires_in`` left, so no URL lives longer than asked
        memo = (full, method, filename or "", expires_in)
        now = time.monotonic()
        made = self._signed.get(memo)
        if made is not None and now - made[0] < expires_in / 5:
            return made[1]
        params = {"Bucket": self.bucket, "Key": full}
        if filename and method == "GET":
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        op = "head_object" if method == "HEAD" else "get_object"
        url: str = self.client.generate_presigned_url(op, Params=params, ExpiresIn=expires_in)
        with self._lock:
            if len(self._signed) > 50_000:
                self._signed.clear()
            self._signed[memo] = (now, url)
        return url

    def presign_put(self, key: str, size: int | None, expires_in: int) -> dict[str, Any]:
        """A presigned ``PUT`` URL for ``key``, or a multipart upload's part URLs when
        ``size`` is above :attr:`multipart_threshold`.
        """
        full = self._full(key)
        if size is None or size <= self.multipart_threshold:
            url = self.client.generate_presigned_url(
                "put_object", Params={"Bucket": self.bucket, "Key": full}, ExpiresIn=expires_in
            )
            return {"url": url}
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full)["UploadId"]
        urls = [
            self.client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self.bucket, "Key": full, "UploadId": upload_id, "PartNumber": n},
                ExpiresIn=expires_in,
            )
            for n in range(1, math.ceil(size / self.part_size) + 1)
        ]
        return {"upload_id": upload_id, "part_size": self.part_size, "part_urls": urls}

    def complete_upload(
        self, key: str, upload_id: str, parts: list[dict[str, Any]], max_bytes: int | None = None
    ) -> None:
        """Assemble a multipart upload from its parts' ``{"part_number", "etag"}``.

        Raises
        ------
        UploadTooLargeError
            When the uploaded parts add up to more than ``max_bytes`` (the store's own sizes,
            listed before assembling: a presigned part URL cannot bound its body); the upload
            is abandoned, so its parts do not stay in the bucket.
        """
        if max_bytes is not None:
            listed = self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=self._full(key), UploadId=upload_id
            )
            total = sum(int(p["Size"]) for page in listed for p in page.get("Parts") or [])
            if total > max_bytes:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self._full(key), UploadId=upload_id
                )
                raise UploadTooLargeError(
                    f"Upload larger than {max_bytes} bytes: {key} is {total} bytes; split the "
                    "product or ask the archive's operator"
                )
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self._full(key),
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": int(p["part_number"]), "ETag": str(p["etag"])}
                    for p in sorted(parts, key=lambda p: int(p["part_number"]))
                ]
            },
        )

    def __repr__(self) -> str:
        return f"S3FileStore({self.url!r})"
