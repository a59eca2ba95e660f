"""HTTP answers as campfire errors: :func:`raise_for_status`, the one place this happens.

Every non-2xx answer from the archive — a JSON route or a file — becomes an error of the
:mod:`campfire.errors` tree here, keeping the status code, the decoded body and the
``X-Request-Id``; :func:`decode_json` reads a body quickly and leniently.

Examples
--------
>>> import requests
>>> r = requests.Response(); r.status_code = 404; r._content = b'{"error": "No such object"}'
>>> try:
...     raise_for_status(r)
... except Exception as exc:
...     type(exc).__name__, str(exc)
('NotFoundError', 'No such object')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from campfire.archive.backoff import parse_retry_after
from campfire.errors import (
    APIError,
    AuthenticationError,
    CampfireError,
    NotFoundError,
    RateLimitError,
)

if TYPE_CHECKING:
    import requests  # only annotations: importing it costs ~0.1 s at a kernel's first cell

__all__ = ["LOGIN_HINT", "decode_json", "raise_for_status", "status_error"]

LOGIN_HINT = "Run: campfire login"


def decode_json(response: requests.Response) -> Any:
    """A response's JSON body: orjson (several times faster on sync pages), else the standard
    parser for what orjson refuses but Python reads (``NaN``, huge integers, non-UTF-8).

    Raises
    ------
    ValueError
        The body is not JSON at all.

    Examples
    --------
    >>> import requests
    >>> r = requests.Response()
    >>> r._content = b'{"data": [1, NaN]}'
    >>> decode_json(r)
    {'data': [1, nan]}
    """
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def raise_for_status(response: requests.Response) -> None:
    """Turn a non-2xx answer into the matching :class:`~campfire.errors.CampfireError`.

    401 and 403 become :class:`AuthenticationError` (with ``Run: campfire login``), 404
    :class:`NotFoundError`, 429 :class:`RateLimitError`, anything else :class:`APIError`; each
    keeps ``status_code``, the decoded ``response`` body and the ``X-Request-Id``.

    Examples
    --------
    >>> import requests
    >>> r = requests.Response(); r.status_code = 200
    >>> raise_for_status(r) is None
    True
    """
    code = response.status_code
    if 200 <= code < 300:
        return
    body = _body(response)
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("error_description") or body.get("error") or "")
    elif body:
        detail = str(body)
    kw: dict[str, Any] = {
        "status_code": code,
        "response": body,
        "request_id": response.headers.get("X-Request-Id"),
    }
    if code == 401:
        raise AuthenticationError(f"Invalid or expired credentials (HTTP 401). {LOGIN_HINT}", **kw)
    if code == 403:
        why = f": {detail}" if detail else ""
        raise AuthenticationError(
            f"Access denied{why} (HTTP 403). If you should have access, {LOGIN_HINT}", **kw
        )
    if code == 404:
        raise NotFoundError(detail or f"Not found: {response.url}", **kw)
    if code == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        hint = f" Try again in {wait:.0f} s." if wait is not None else " Try again later."
        raise RateLimitError(f"The archive is rate limiting requests (HTTP 429).{hint}", **kw)
    raise APIError(f"API error: {code} - {detail or body}", **kw)


def status_error(response: requests.Response) -> Exception:
    """The error :func:`raise_for_status` raises for ``response`` (returned, not raised)."""
    try:
        raise_for_status(response)
    except CampfireError as exc:
        return exc
    return APIError(f"API error: {response.status_code}", status_code=response.status_code)
