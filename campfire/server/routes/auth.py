"""Auth routes (contract 2.1-2.7): the device flow, token refresh and revocation, whoami.

Errors here are OAuth style: ``{"error": "<code>", "error_description": "<text>"}``.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from campfire.server.auth.access import authenticate
from campfire.server.auth.credentials import (
    ACCESS_TOKEN_SECONDS,
    REFRESH_TOKEN_DAYS,
    format_user_code,
    hash_token,
    issue_access_token,
    new_device_code,
    new_refresh_token,
    new_user_code,
    normalize_user_code,
)
from campfire.server.auth.devicecodes import decide_device_code, pending_device_code
from campfire.server.auth.websession import check_csrf, session_user
from campfire.server.http.replies import ApiError, json_response, oauth_error, read_json_object
from campfire.server.routes.pages import result_page
from campfire.server.storage.database import Database, utc_now

__all__ = ["ROUTES", "PollTracker"]

log = logging.getLogger("campfire.server")

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_SECONDS = 900
POLL_INTERVAL = 5


class PollTracker:
    """The poll-rate check of ``/auth/device/token`` (contract 2.2, step 3), in the database.

    The time of a code's last poll is kept on its ``device_codes`` row (``polled_at``, epoch
    seconds) and its interval in ``interval_seconds``, which grows by 5 s (to at most 30 s) at
    each poll that comes too soon; so a client that polls one server process and then another
    is slowed down all the same. Made-up codes have no row and cost nothing.

    Parameters
    ----------
    db
        The archive database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def check(self, device_code: str, now: float | None = None) -> int | None:
        """Record a poll; return the new interval (s) if it came too soon, else None."""
        now = time.time() if now is None else now
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, polled_at, interval_seconds FROM device_codes WHERE device_code = ?",
                (device_code,),
            ).fetchone()
            if row is None:
                return None
            interval = int(row["interval_seconds"] or POLL_INTERVAL)
            too_soon = row["polled_at"] is not None and now - row["polled_at"] < interval
            if too_soon:
                interval = min(interval + 5, 30)
            conn.execute(
                "UPDATE device_codes SET polled_at = ?, interval_seconds = ? WHERE id = ?",
                (now, interval, row["id"]),
            )
        return interval if too_soon else None

    def forget(self, device_code: str) -> None:
        """Forget a code's last poll (it reached a terminal state, or a test let time pass)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE device_codes SET polled_at = NULL WHERE device_code = ?", (device_code,)
            )


def _client_ip(request: Request) -> str:
    fwd = request.headers.get("x-forwarded-for")
    if fwd:
        return fwd.split(",")[0].strip()
    return request.headers.get("x-real-ip") or (
        request.client.host if request.client else "unknown"
    )


def _invalid_request(status: int, message: str) -> ApiError:
    return oauth_error(status, "invalid_request", message)


async def _json_body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, _invalid_request)


def site_root(request: Request) -> str:
    """``<scheme>://<host>`` of this server, as the client reached it."""
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("host") or request.url.netloc
    return f"{scheme}://{host}"


async def device_start(request: Request) -> Response:
    """``POST /auth/device``: start a device authorization."""
    archive = request.app.state.archive
    device_code, user_code = new_device_code(), new_user_code()
    uri = site_root(request) + "/cli-auth"
    with archive.db.transaction() as conn:
        conn.execute(
            "INSERT INTO device_codes (device_code, user_code, verification_uri, expires_at, "
            "interval_seconds, status, created_at, client_ip, user_agent) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (
                device_code,
                user_code,
                uri,
                utc_now(DEVICE_SECONDS),
                POLL_INTERVAL,
                utc_now(),
                _client_ip(request),
                request.headers.get("user-agent"),
            ),
        )
    shown = format_user_code(user_code)
    return json_response(
        {
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?code={quote(shown, safe='-')}",
            "expires_in": DEVICE_SECONDS,
            "interval": POLL_INTERVAL,
        }
    )


def issue_tokens(
    request: Request, user_id: str, device_name: str | None, conn: Any
) -> dict[str, Any]:
    """Access + refresh token for a user (inside the caller's transaction)."""
    user = conn.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()
    refresh = new_refresh_token()
    rid = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO refresh_tokens (id, token_hash, user_id, device_name, expires_at, created_at,"
        " client_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rid,
            hash_token(refresh),
            user_id,
            device_name,
            utc_now(REFRESH_TOKEN_DAYS * 86400),
            utc_now(),
            _client_ip(request),
            request.headers.get("user-agent"),
        ),
    )
    access = issue_access_token(request.app.state.archive.secret, user_id, user and user[0])
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh,
        "refresh_token_id": rid,
        "supabase_token": None,  # always present in the contract (2.2); we have no Supabase
    }


async def device_token(request: Request) -> Response:
    """``POST /auth/device/token``: poll for tokens."""
    body = await _json_body(request)
    if body.get("grant_type") != DEVICE_GRANT:
        raise oauth_error(400, "unsupported_grant_type", f"grant_type must be {DEVICE_GRANT}")
    code = body.get("device_code")
    if not code or not isinstance(code, str):
        raise oauth_error(400, "invalid_request", "device_code is required")
    tracker: PollTracker = request.app.state.poll_tracker
    interval = tracker.check(code)
    if interval is not None:
        raise oauth_error(
            400, "slow_down", "Polling too fast; wait longer between polls", interval=interval
        )
    archive = request.app.state.archive
    problem: tuple[str, str] | None = None
    with archive.db.transaction() as conn:
        row = conn.execute("SELECT * FROM device_codes WHERE device_code = ?", (code,)).fetchone()
        if row is None:
            problem = ("invalid_grant", "Invalid device code")
        elif row["expires_at"] < utc_now():
            problem = ("expired_token", "The device code has expired; log in again")
        elif row["status"] == "denied":
            problem = ("access_denied", "The request was denied in the browser")
        elif row["status"] == "pending":
            raise oauth_error(400, "authorization_pending", "Waiting for approval in the browser")
        elif row["status"] != "authorized":
            problem = ("invalid_grant", "This device code was already used")
        else:
            conn.execute("UPDATE device_codes SET status = 'consumed' WHERE id = ?", (row["id"],))
            tokens = issue_tokens(
                request, row["user_id"], body.get("device_name") or "Python Client", conn
            )
    if problem is not None:
        if row is not None:
            tracker.forget(code)
        raise oauth_error(400, *problem)
    tracker.forget(code)
    tokens.pop("refresh_token_id")
    return json_response(tokens)


async def device_validate(request: Request) -> Response:
    """``POST /auth/device/validate``: is this user code pending?"""
    body = await _json_body(request)
    code = normalize_user_code(str(body.get("user_code") or ""))
    if not code:
        raise oauth_error(400, "invalid_request", "user_code is required")
    _, problem = pending_device_code(request.app.state.archive.db.conn(), code)
    if problem == "not_found":
        raise oauth_error(404, "not_found", "Invalid code")
    if problem == "expired":
        raise oauth_error(400, "expired", "This code has expired; start the login again")
    if problem == "already_used":
        raise oauth_error(400, "already_used", "This code was already used")
    return json_response({"valid": True})


async def device_authorize(request: Request) -> Response:
    """``POST /auth/device/authorize``: the signed-in browser approves or denies a code.

    Takes JSON (``fetch`` with an ``X-CSRF-Token`` header) or a form post from the
    ``/cli-auth`` page (``csrf`` field; answered with an HTML page).
    """
    archive = request.app.state.archive
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    if is_form:
        form = await request.form()
        body: dict[str, Any] = {k: str(v) for k, v in form.items()}
        token = body.get("csrf")
    else:
        body = await _json_body(request)
        token = request.headers.get("x-csrf-token")
    session = session_user(archive, request)
    if session is None:
        raise oauth_error(401, "unauthorized", "You must be logged in")
    user, csrf = session
    if not check_csrf(csrf, token):
        raise oauth_error(403, "forbidden", "Missing or wrong CSRF token; reload the page")
    code, action = str(body.get("user_code") or ""), body.get("action")
    if not code or action not in ("authorize", "deny"):
        raise oauth_error(400, "invalid_request", "user_code and action (authorize|deny) required")
    ok = decide_device_code(archive, code, str(action), user["id"])
    if is_form:
        return HTMLResponse(result_page(ok, str(action)), status_code=200 if ok else 400)
    if not ok:
        raise oauth_error(400, "failed", "The code is unknown, expired or already used")
    return json_response({"success": True})


async def refresh(request: Request) -> Response:
    """``POST /auth/refresh``: rotate a refresh token."""
    body = await _json_body(request)
    if body.get("grant_type") != "refresh_token":
        raise oauth_error(400, "unsupported_grant_type", "grant_type must be refresh_token")
    token = body.get("refresh_token")
    if not token or not isinstance(token, str):
        raise oauth_error(400, "invalid_request", "refresh_token is required")
    if not token.startswith("rt_"):
        raise oauth_error(400, "invalid_grant", "Invalid refresh token format")
    archive = request.app.state.archive
    with archive.db.transaction() as conn:
        row = conn.execute(
            "SELECT * FROM refresh_tokens WHERE token_hash = ?", (hash_token(token),)
        ).fetchone()
        valid = row is not None and not row["is_revoked"] and row["expires_at"] > utc_now()
        if valid:
            tokens = issue_tokens(request, row["user_id"], row["device_name"], conn)
            conn.execute(
                "UPDATE refresh_tokens SET is_revoked = 1, revoked_at = ?, replaced_by = ?, "
                "last_used_at = ? WHERE id = ?",
                (utc_now(), tokens.pop("refresh_token_id"), utc_now(), row["id"]),
            )
        elif row is not None and row["replaced_by"] is not None:
            # a rotated token came back: one of its two holders is not the user, so the
            # newer tokens of the chain die too (OAuth 2.0 security BCP, refresh token reuse)
            revoked = _revoke_family(conn, row["replaced_by"])
            log.warning(
                "refresh token %s reused after rotation: %d newer token(s) of its family "
                "revoked (user %s)",
                row["id"],
                revoked,
                row["user_id"],
            )
    if not valid:  # raised after the transaction, so a family revocation is committed
        raise oauth_error(400, "invalid_grant", "Invalid or expired refresh token")
    return json_response(tokens)


def _revoke_family(conn: Any, first_id: str | None) -> int:
    """Revoke ``first_id`` and every token that replaced it in turn; return how many."""
    count, seen, rid = 0, set(), first_id
    while rid is not None and rid not in seen:
        seen.add(rid)
        cur = conn.execute(
            "UPDATE refresh_tokens SET is_revoked = 1, revoked_at = ? "
            "WHERE id = ? AND is_revoked = 0",
            (utc_now(), rid),
        )
        count += cur.rowcount
        nxt = conn.execute("SELECT replaced_by FROM refresh_tokens WHERE id = ?", (rid,)).fetchone()
        rid = None if nxt is None else nxt[0]
    return count


async def revoke(request: Request) -> Response:
    """``POST /auth/revoke``: revoke a refresh token; always ``{"revoked": true}``.

    As RFC 7009 asks (contract 2.6), the answer is the same for a missing, malformed or unknown
    token and for an internal error, so it tells a caller nothing; an internal error is logged.
    """
    try:
        body = await _json_body(request)
    except ApiError:  # not a JSON object: it names no token, so there is nothing to revoke
        return json_response({"revoked": True})
    token = body.get("token")
    if isinstance(token, str) and token.startswith("rt_"):
        try:
            request.app.state.archive.db.conn().execute(
                "UPDATE refresh_tokens SET is_revoked = 1, revoked_at = ? "
                "WHERE token_hash = ? AND is_revoked = 0",
                (utc_now(), hash_token(token)),
            )
        except Exception:
            log.exception("revoking a refresh token failed; answered revoked as contract 2.6 says")
    return json_response({"revoked": True})


def whoami(request: Request) -> Response:
    """``GET /auth/whoami``: the caller's identity."""
    archive = request.app.state.archive
    principal = authenticate(archive, request.headers.get("authorization"))
    if principal is None:
        raise oauth_error(401, "unauthorized", "Invalid or missing authentication")
    request.state.principal = principal  # for the access log
    row = (
        archive.db.conn()
        .execute("SELECT * FROM users WHERE id = ?", (principal.user_id,))
        .fetchone()
    )
    if row is None:
        raise oauth_error(404, "not_found", "User not found")
    return json_response(
        {
            "user_id": row["id"],
            "email": row["email"],
            "full_name": row["full_name"],
            "is_admin": bool(row["is_admin"]),
            "can_inspect": bool(row["can_inspect"]),
            "created_at": row["created_at"],
        }
    )


ROUTES = [
    Route("/auth/device", device_start, methods=["POST"]),
    Route("/auth/device/token", device_token, methods=["POST"]),
    Route("/auth/device/validate", device_validate, methods=["POST"]),
    Route("/auth/device/authorize", device_authorize, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/auth/revoke", revoke, methods=["POST"]),
    Route("/auth/whoami", whoami),
]
