"""The ``inspections`` extension's routes (``docs/api-extensions.md``): writes and comments.

Every write campfire makes is one of six kinds, each one request: :func:`write_request` maps a
kind, its target and its body to the method and path, and :func:`send_write` sends it with its
``Idempotency-Key`` and returns the archive's answer as it is (a :class:`WriteAnswer`), whatever
its status: what an answer means for the local catalog is decided by the caller
(:mod:`campfire.sync.outbox`). :func:`iter_comments` pages through an object's comments.

=============  =============================================  ====================================
kind           request                                        body
=============  =============================================  ====================================
``inspect``    ``PATCH /objects/{object_id}/inspection``      ``redshift_inspected``,
                                                              ``redshift_quality``,
                                                              ``expected_version``
``dq``         ``PATCH /spectra/{spectrum_id}/dq``            ``dq_flags``, ``expected_version``
``comment``    ``POST /objects/{object_id}/comments``         ``body``
``create_tag`` ``POST /lists``                                ``slug``, ``name``, ``visibility``
``tag``        ``POST /lists/{slug}/members``                 ``object_ids``
``untag``      ``DELETE /lists/{slug}/members``               ``object_ids``
=============  =============================================  ====================================

Examples
--------
>>> write_request("dq", "ember_uds_p4_prism_clear_1", {"dq_flags": 3, "expected_version": 1})
('PATCH', '/spectra/ember_uds_p4_prism_clear_1/dq', {'dq_flags': 3, 'expected_version': 1})
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from campfire.archive.status import decode_json, raise_for_status

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient

__all__ = [
    "BATCH",
    "BATCH_EXTENSION",
    "EXTENSION",
    "KINDS",
    "WriteAnswer",
    "iter_comments",
    "send_batch",
    "send_write",
    "write_request",
]

#: the name ``GET /version`` announces the routes by
EXTENSION = "inspections"
#: the name of ``POST /inspections/batch`` (many object inspections in one request)
BATCH_EXTENSION = "inspections-batch"
#: the most inspections campfire sends in one batch (the server takes up to 1000)
BATCH = 500

_ROUTES = {  # kind -> (method, path template); {t} is the quoted target
    "inspect": ("PATCH", "/objects/{t}/inspection"),
    "dq": ("PATCH", "/spectra/{t}/dq"),
    "comment": ("POST", "/objects/{t}/comments"),
    "create_tag": ("POST", "/lists"),
    "tag": ("POST", "/lists/{t}/members"),
    "untag": ("DELETE", "/lists/{t}/members"),
}
KINDS = tuple(_ROUTES)


def write_request(
    kind: str, target: str, body: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """The ``(method, path, json body)`` of a write of ``kind`` on ``target``.

    Examples
    --------
    >>> write_request("tag", "lrd", {"object_ids": ["J1"]})[:2]
    ('POST', '/lists/lrd/members')
    """
    if kind not in _ROUTES:
        raise ValueError(f"unknown write kind {kind!r}; expected one of {', '.join(KINDS)}")
    method, template = _ROUTES[kind]
    return method, template.format(t=quote(target, safe="")), dict(body)


@dataclass(frozen=True)
class WriteAnswer:
    """The archive's answer to a write: status, decoded body, and whether it was a replay.

    ``replayed`` is true when the archive had seen the idempotency key before and sent back the
    stored answer without applying the write again.

    Examples
    --------
    >>> WriteAnswer(409, {"error": "version_conflict"}).conflict
    True
    """

    status: int
    body: Any
    replayed: bool = False

    @property
    def ok(self) -> bool:
        """A 2xx answer: the write is applied."""
        return 200 <= self.status < 300

    @property
    def conflict(self) -> bool:
        """A 409 ``version_conflict``: someone changed the record since our version."""
        return (
            self.status == 409
            and isinstance(self.body, dict)
            and self.body.get("error") == "version_conflict"
        )

    @property
    def transient(self) -> bool:
        """A 429 or 5xx: worth sending again later with the same key."""
        return self.status == 429 or self.status >= 500

    @property
    def message(self) -> str:
        """The archive's message (or error code) for a non-2xx answer."""
        if isinstance(self.body, dict):
            return str(self.body.get("message") or self.body.get("error") or self.status)
        return f"HTTP {self.status}" + (f": {self.body}" if self.body else "")


def send_write(
    api: ApiClient,
    kind: str,
    target: str,
    body: Mapping[str, Any],
    key: str,
    *,
    retry: bool = False,
) -> WriteAnswer:
    """Send one write with ``Idempotency-Key: key``; the answer, whatever its status.

    ``retry`` repeats it after a dropped connection, a 429 or a 5xx (with the same key, so the
    archive applies it at most once).

    Raises
    ------
    OfflineError
        ``CAMPFIRE_OFFLINE=1``.
    APIError
        The archive could not be reached (no answer at all).
    AuthenticationError
        401: the login is missing or expired.

    Examples
    --------
    >>> answer = send_write(api, "comment", "J1", {"body": "Ha at 2.31"}, key)  # doctest: +SKIP
    >>> answer.status, answer.body["comment"]["id"]  # doctest: +SKIP
    (201, 17)
    """
    method, path, payload = write_request(kind, target, body)
    response = api.request(
        method,
        path,
        json=payload,
        headers={"Idempotency-Key": key},
        retry=retry,
        check=False,
        timeout=(10.0, 60.0),
    )
    if response.status_code == 401:
        raise_for_status(response)
    decoded: Any = None
    if response.content:
        try:
            decoded = decode_json(response)
        except ValueError:
            decoded = response.text[:500]
    replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
    return WriteAnswer(response.status_code, decoded, replayed)


def send_batch(
    api: ApiClient,
    items: list[tuple[str, Mapping[str, Any], str]],
    *,
    retry: bool = False,
) -> list[WriteAnswer] | WriteAnswer:
    """Send ``(object_id, inspection body, key)`` items in one ``POST /inspections/batch``.

    Returns one :class:`WriteAnswer` per item, in order, each what the item's own
    ``PATCH /objects/{id}/inspection`` would have answered; or the batch's own answer when the
    archive did not take it (a 429, a 5xx: send again later, or a 4xx for the whole request).

    Raises
    ------
    OfflineError, APIError, AuthenticationError
        As :func:`send_write`.

    Examples
    --------
    >>> answers = send_batch(api, [("J1", {"redshift_quality": 4,
    ...                                    "expected_version": 3}, key)])  # doctest: +SKIP
    >>> answers[0].status  # doctest: +SKIP
    200
    """
    payload = {
        "items": [{**body, "object_id": oid, "idempotency_key": key} for oid, body, key in items]
    }
    response = api.request(
        "POST", "/inspections/batch", json=payload, retry=retry, check=False, timeout=(10.0, 300.0)
    )
    if response.status_code == 401:
        raise_for_status(response)
    try:
        decoded: Any = decode_json(response) if response.content else None
    except ValueError:
        decoded = response.text[:500]
    results = decoded.get("results") if isinstance(decoded, dict) else None
    if response.status_code != 200 or not isinstance(results, list) or len(results) != len(items):
        status = 502 if response.status_code == 200 else response.status_code
        return WriteAnswer(status, decoded)  # a 200 without one result per item: try later
    return [
        WriteAnswer(int(r.get("status") or 502), r.get("body"), bool(r.get("replayed")))
        for r in results
    ]


def iter_comments(api: ApiClient, object_id: str, page: int = 500) -> Iterator[dict[str, Any]]:
    """Every comment on an object, oldest first (``GET /objects/{id}/comments``, paged).

    Examples
    --------
    >>> [c["body"] for c in iter_comments(api, "J021737.42-051208.5")]  # doctest: +SKIP
    ['Ha and [NII] resolved']
    """
    offset = 0
    path = f"/objects/{quote(object_id, safe='')}/comments"
    while True:
        body = api.get_json(path, params={"limit": page, "offset": offset})
        rows = list(body.get("data") or [])
        yield from rows
        offset += len(rows)
        total = int((body.get("pagination") or {}).get("total") or 0)
        if not rows or offset >= total:
            return
