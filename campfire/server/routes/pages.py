"""The web pages: sign-in, device approval (``/cli-auth``) and API keys (``/profile/api-keys``).

Plain HTML forms, no JavaScript needed: the approval page posts to
``/api/v1/auth/device/authorize`` with the session cookie and a CSRF token.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from campfire.server.auth.credentials import check_password, format_user_code, normalize_user_code
from campfire.server.auth.devicecodes import pending_device_code
from campfire.server.auth.users import create_api_key
from campfire.server.auth.websession import (
    COOKIE,
    SESSION_SECONDS,
    check_csrf,
    create_session,
    end_session,
    session_user,
)

__all__ = ["ROUTES", "result_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} .code{font:600 2rem ui-monospace,monospace;letter-spacing:.2rem;
padding:.5rem 1rem;background:#f4f1ea;border-radius:.4rem;display:inline-block}
button,input[type=submit]{font-size:1rem;padding:.5rem 1.2rem;margin:.3rem .3rem 0 0}
input[type=email],input[type=password],input[type=text]{font-size:1rem;padding:.4rem;width:100%;
box-sizing:border-box;margin:.2rem 0 .8rem} .err{color:#a00} .ok{color:#070}
table{border-collapse:collapse} td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd}
"""


def _html(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f" · campfire</title><style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"{body}</body></html>"
    )


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = _html(title, body)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _safe_redirect(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def result_page(ok: bool, action: str) -> str:
    """The HTML shown after Approve/Deny."""
    if ok and action == "authorize":
        msg = "<p class='ok'>Approved. You can close this tab and return to your terminal.</p>"
    elif ok:
        msg = "<p>Denied. The terminal login will stop.</p>"
    else:
        msg = "<p class='err'>That code is unknown, expired or already used. Start again.</p>"
    return _html("Device login", msg)


def _password_slots(request: Request) -> anyio.CapacityLimiter:
    """At most two password checks at once (each is ~100 ms of scrypt on a worker thread)."""
    slots: anyio.CapacityLimiter | None = getattr(request.app.state, "password_slots", None)
    if slots is None:
        slots = request.app.state.password_slots = anyio.CapacityLimiter(2)
    return slots


async def login(request: Request) -> Response:
    """``GET|POST /login``: email + password sign-in; sets the session cookie.

    Attempts are limited per client address and per account; the password check runs off the
    event loop, and costs the same for unknown accounts (a dummy hash), so neither a flood of
    wrong passwords nor its timing stalls other requests or tells who is registered.
    """
    archive = request.app.state.archive
    target = _safe_redirect(request.query_params.get("redirect"))
    error = ""
    if request.method == "POST":
        form = await request.form()
        email, password = str(form.get("email") or "").strip(), str(form.get("password") or "")
        target = _safe_redirect(str(form.get("redirect") or target))
        address = request.client.host if request.client else "unknown"
        throttle = request.app.state.login_throttle  # counted in the database, off the loop
        wait = await anyio.to_thread.run_sync(throttle.check, address, email)
        if wait is not None:
            page = _page(
                "Sign in to campfire",
                f"<p class='err'>Too many sign-in attempts. Try again in {wait} s.</p>",
                429,
            )
            page.headers["Retry-After"] = str(wait)
            return page
        row = (
            archive.db.conn()
            .execute("SELECT id, password_hash FROM users WHERE email = ? COLLATE NOCASE", (email,))
            .fetchone()
        )
        stored = None if row is None else row["password_hash"]
        ok = await anyio.to_thread.run_sync(
            check_password, password, stored, limiter=_password_slots(request)
        )
        if not ok:
            await anyio.to_thread.run_sync(throttle.failed, email)
        if ok and row is not None:
            token, _ = create_session(archive, row["id"])
            resp = RedirectResponse(target, status_code=303)
            resp.set_cookie(
                COOKIE,
                token,
                max_age=SESSION_SECONDS,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
            return resp
        error = "<p class='err'>Wrong email or password.</p>"
    body = (
        f"{error}<form method='post' action='/login'>"
        f"<input type='hidden' name='redirect' value='{escape(target)}'>"
        "<label>Email<input type='email' name='email' required autofocus></label>"
        "<label>Password<input type='password' name='password' required></label>"
        "<input type='submit' value='Sign in'></form>"
    )
    return _page("Sign in to campfire", body, 401 if error else 200)


async def logout(request: Request) -> Response:
    """``GET /logout``: end the session."""
    end_session(request.app.state.archive, request)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def cli_auth(request: Request) -> Response:
    """``GET /cli-auth?code=XXXX-XXXX``: show the code and the Approve/Deny buttons."""
    archive = request.app.state.archive
    raw = request.query_params.get("code") or ""
    session = session_user(archive, request)
    if session is None:
        nxt = "/cli-auth" + (f"?code={quote(raw)}" if raw else "")
        return RedirectResponse(f"/login?redirect={quote(nxt, safe='')}", status_code=303)
    user, csrf = session
    code = normalize_user_code(raw)
    if not code:
        body = (
            "<form method='get' action='/cli-auth'><label>Code shown in your terminal"
            "<input type='text' name='code' required autofocus></label>"
            "<input type='submit' value='Continue'></form>"
        )
        return _page("Device login", body)
    _, problem = pending_device_code(archive.db.conn(), code)
    if problem is not None:
        text = {
            "not_found": "This code is unknown.",
            "expired": "This code has expired.",
            "already_used": "This code was already used.",
        }[problem]
        return _page(
            "Device login",
            f"<p class='err'>{text} Run <code>campfire login</code> again.</p>",
            400 if problem != "not_found" else 404,
        )
    shown = escape(format_user_code(code))
    body = (
        f"<p>Signed in as <b>{escape(user['email'])}</b> (<a href='/logout'>sign out</a>)."
        "</p><p>A campfire client asks to sign in to your account. Check that this code "
        f"matches the one in your terminal:</p><p class='code'>{shown}</p>"
        "<form method='post' action='/api/v1/auth/device/authorize'>"
        f"<input type='hidden' name='user_code' value='{shown}'>"
        f"<input type='hidden' name='csrf' value='{escape(csrf)}'>"
        "<button type='submit' name='action' value='authorize'>Approve</button>"
        "<button type='submit' name='action' value='deny'>Deny</button></form>"
    )
    return _page("Device login", body)


async def api_keys(request: Request) -> Response:
    """``GET|POST /profile/api-keys``: list your keys, create one (shown once)."""
    archive = request.app.state.archive
    session = session_user(archive, request)
    if session is None:
        return RedirectResponse("/login?redirect=%2Fprofile%2Fapi-keys", status_code=303)
    user, csrf = session
    created = ""
    if request.method == "POST":
        form = await request.form()
        if not check_csrf(csrf, str(form.get("csrf") or "")):
            return _page("API keys", "<p class='err'>Stale form; reload the page.</p>", 403)
        key = create_api_key(archive, user["email"], str(form.get("name") or "") or None)
        created = (
            f"<p class='ok'>New key (copy it now, it is not shown again):</p>"
            f"<p><code>{escape(key)}</code></p>"
        )
    rows = (
        archive.db.conn()
        .execute(
            "SELECT key_prefix, name, created_at, last_used_at FROM api_keys "
            "WHERE user_id = ? AND is_active = 1 ORDER BY created_at",
            (user["id"],),
        )
        .fetchall()
    )
    table = "".join(
        f"<tr><td><code>{escape(r[0])}</code></td><td>{escape(r[1] or '')}</td>"
        f"<td>{escape(r[2][:19])}</td><td>{escape((r[3] or 'never')[:19])}</td></tr>"
        for r in rows
    )
    body = (
        f"{created}<table><tr><th>key</th><th>name</th><th>created</th><th>last used</th>"
        f"</tr>{table}</table><form method='post'><input type='hidden' name='csrf' "
        f"value='{escape(csrf)}'><label>Name<input type='text' name='name'></label>"
        "<input type='submit' value='Create API key'></form>"
        "<p>Use it with <code>campfire login --api-key</code>.</p>"
    )
    return _page("API keys", body)


ROUTES = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout),
    Route("/cli-auth", cli_auth),
    Route("/profile/api-keys", api_keys, methods=["GET", "POST"]),
]
