"""Test-only fault injection (``docs/api-extensions.md``), active only with ``faults=True``.

``POST /api/v1/_test/faults {"rules": [...]}`` installs rules, ``GET`` lists them with hit
counts, ``DELETE`` clears them. A rule matches requests whose path after ``/api/v1`` starts
with ``path`` and does one of:

==============  ==================================================================================
``status``      answer ``status`` (default 503) with a JSON error (and ``Retry-After`` if given)
``rate_limit``  answer 429 with ``Retry-After: retry_after`` (default 1)
``truncate``    a complete answer whose body (and ``Content-Length``) stops at ``after_bytes``
``corrupt``     flip the bits of the body byte at ``after_bytes`` (same length)
``drop``        send ``after_bytes`` of the body, then close the connection
``stall``       wait ``stall_seconds`` (default 5) before answering (ended early if the client
                hangs up), or after ``after_bytes``
``body``        answer ``status`` (default 200) with ``body`` as JSON instead (a hostile archive)
``pad``         the whole body, then ``pad_bytes`` (default 1 MiB) of zeros more, counted in
                ``Content-Length`` (a server sending more than the file)
``drip``        after ``after_bytes``, the rest of the body ``drip_bytes`` (default 1) every
                ``stall_seconds`` (a slow drip that never stalls for long)
==============  ==================================================================================

Any rule may also wait ``delay_seconds`` before doing its kind (e.g. a ``body`` answer that
arrives late, to hold a client between sending and hearing back).

``times`` (default 1) is how many matching requests a rule affects; ``-1`` means all.

Examples
--------
>>> rules = FaultRules()
>>> rules.install([{"path": "/sync/objects", "kind": "status", "status": 500}])
>>> rules.take("GET", "/sync/objects")["status"], rules.take("GET", "/sync/objects")
(500, None)
"""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campfire.server.http.replies import data_error, json_response

__all__ = ["KINDS", "FaultMiddleware", "FaultRules", "fault_routes"]

KINDS = ("status", "rate_limit", "truncate", "corrupt", "drop", "stall", "body", "pad", "drip")
_PREFIX = "/api/v1"


class FaultRules:
    """The installed rules, their remaining uses and hit counts (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[dict[str, Any]] = []

    def install(self, rules: list[dict[str, Any]]) -> None:
        """Validate and install ``rules`` (replacing the old ones).

        Raises
        ------
        ValueError
            Naming the first bad rule and what is wrong with it.
        """
        clean = []
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                raise ValueError(f"rule {i} must be an object")
            path, kind = rule.get("path"), rule.get("kind")
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"rule {i}: path must start with '/' (e.g. '/sync/objects')")
            if kind not in KINDS:
                raise ValueError(f"rule {i}: kind must be one of {', '.join(KINDS)}")
            times = int(rule.get("times", 1))
            if kind == "body" and "body" not in rule:
                raise ValueError(f"rule {i}: kind body needs a body (any JSON value)")
            clean.append(
                {
                    "status": 200 if kind == "body" else 503,
                    "retry_after": None,
                    "after_bytes": 0,
                    "stall_seconds": 5.0,
                    **rule,
                    "times": times,
                    "hits": 0,
                }
            )
        with self._lock:
            self._rules = clean

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def list(self) -> list[dict[str, Any]]:
        """Copies of the rules with their hit counts."""
        with self._lock:
            return [dict(r) for r in self._rules]

    def take(self, method: str, path: str) -> dict[str, Any] | None:
        """The first live rule matching the request (counting the hit), or None."""
        with self._lock:
            for rule in self._rules:
                if rule["times"] == 0 or not path.startswith(rule["path"]):
                    continue
                if rule.get("method") and rule["method"].upper() != method.upper():
                    continue
                rule["hits"] += 1
                if rule["times"] > 0:
                    rule["times"] -= 1
                return dict(rule)
        return None


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = json.dumps(body).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])})
    await send({"type": "http.response.body", "body": raw})


async def _pause(seconds: float, receive: Receive) -> Receive | None:
    """Hold a request back ``seconds``, or until its client hangs up (then None).

    A stall outlives no client: a killed or timed-out client's request ends when it goes, not
    ``seconds`` later in some other test's window. The request body read meanwhile is replayed
    to the app by the ``receive`` returned.
    """
    read: list[Message] = []
    with anyio.move_on_after(seconds):
        while True:  # after the body, receive() waits until the client disconnects
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            read.append(message)

    async def replay() -> Message:
        return read.pop(0) if read else await receive()

    return replay


class FaultMiddleware:
    """Apply :class:`FaultRules` to ``/api/v1`` requests (outermost middleware)."""

    def __init__(self, app: ASGIApp, rules: FaultRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(_PREFIX + "/")
            or path.startswith(_PREFIX + "/_test/")
        ):
            await self.app(scope, receive, send)
            return
        rule = self.rules.take(scope["method"], path[len(_PREFIX) :])
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.get("delay_seconds"):
            held = await _pause(float(rule["delay_seconds"]), receive)
            if held is None:
                return  # the client hung up while the answer was held back
            receive = held
        kind = rule["kind"]
        if kind == "status":
            extra = []
            if rule.get("retry_after") is not None:
                extra = [(b"retry-after", str(rule["retry_after"]).encode())]
            await _send_json(
                send,
                int(rule["status"]),
                {"error": f"Injected fault: HTTP {rule['status']}"},
                extra,
            )
            return
        if kind == "body":
            raw = json.dumps(rule["body"]).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": int(rule["status"]),
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(raw)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": raw})
            return
        if kind == "rate_limit":
            after = int(rule.get("retry_after") or 1)
            await _send_json(
                send,
                429,
                {"error": "Rate limit exceeded", "retry_after": after},
                [(b"retry-after", str(after).encode())],
            )
            return
        if kind == "stall" and not rule.get("after_bytes"):
            held = await _pause(float(rule["stall_seconds"]), receive)
            if held is not None:
                await self.app(scope, held, send)
            return
        await self.app(scope, receive, _BodyFault(send, rule))


class _BodyFault:
    """A ``send`` wrapper that truncates, corrupts, drops or stalls the response body."""

    def __init__(self, send: Send, rule: dict[str, Any]) -> None:
        self.send = send
        self.kind = rule["kind"]
        self.cut = max(0, int(rule.get("after_bytes") or 0))
        self.stall = float(rule.get("stall_seconds") or 0)
        self.pad = max(0, int(rule.get("pad_bytes", 1 << 20)))
        self.drip = max(1, int(rule.get("drip_bytes") or 1))
        self.sent = 0
        self.done = False

    async def __call__(self, message: Message) -> None:
        if self.done:
            return
        if message["type"] == "http.response.start" and self.kind in ("truncate", "pad"):
            headers = []
            for k, v in message.get("headers", []):
                if k.lower() == b"content-length":
                    n = int(v)
                    v = str(min(n, self.cut) if self.kind == "truncate" else n + self.pad).encode()
                headers.append((k, v))
            message = {**message, "headers": headers}
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        start, end = self.sent, self.sent + len(body)
        self.sent = end
        if self.kind == "pad" and not more:
            await self.send({"type": "http.response.body", "body": body, "more_body": True})
            left = self.pad
            while left > 0:  # in blocks, so a huge pad never sits in memory
                block = min(left, 1 << 20)
                left -= block
                await self.send(
                    {"type": "http.response.body", "body": bytes(block), "more_body": left > 0}
                )
            return
        if self.kind == "drip" and end > self.cut:
            at = max(0, self.cut - start)
            await self.send({"type": "http.response.body", "body": body[:at], "more_body": True})
            for i in range(at, len(body), self.drip):
                await anyio.sleep(self.stall)
                piece = body[i : i + self.drip]
                last = i + self.drip >= len(body) and not more
                await self.send(
                    {"type": "http.response.body", "body": piece, "more_body": not last}
                )
            return
        if self.kind == "corrupt" and start <= self.cut < end:
            i = self.cut - start
            body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1 :]
        elif self.kind in ("truncate", "drop", "stall") and end > self.cut >= start:
            head, tail = body[: self.cut - start], body[self.cut - start :]
            if self.kind == "stall":
                await self.send({"type": "http.response.body", "body": head, "more_body": True})
                await anyio.sleep(self.stall)
                await self.send({**message, "body": tail})
                self.cut = -1
                return
            if self.kind == "truncate":
                await self.send({"type": "http.response.body", "body": head, "more_body": False})
            else:  # drop: part of the body, then the connection goes away mid-response
                await self.send({"type": "http.response.body", "body": head, "more_body": True})
            self.done = True
            return
        await self.send({**message, "body": body, "more_body": more})


def fault_routes(rules: FaultRules) -> list[Route]:
    """The ``/_test/faults`` route (mounted under ``/api/v1`` only when faults are on)."""

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await request.json()
                rules.install(body["rules"] if isinstance(body, dict) else body)
            except (ValueError, KeyError, TypeError) as exc:
                raise data_error(400, f"Bad fault rules: {exc}") from None
        elif request.method == "DELETE":
            rules.clear()
        return json_response({"rules": rules.list()})

    return [Route("/_test/faults", faults, methods=["GET", "POST", "DELETE"])]
