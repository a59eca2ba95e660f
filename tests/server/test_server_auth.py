"""Device flow end to end (through the HTML pages), JWT, refresh rotation, revocation, whoami."""

from __future__ import annotations

import re
import time

import jwt
import pytest
import requests
from server_products import USERS, api_get

from campfire.server.auth.credentials import issue_access_token

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def start(srv):
    r = requests.post(srv.base_url + "/auth/device", timeout=10)
    assert r.status_code == 200
    return r.json()


def poll(srv, code, **extra):
    body = {"grant_type": GRANT, "device_code": code, **extra}
    return requests.post(srv.base_url + "/auth/device/token", json=body, timeout=10)


def browser_login(srv, who="full"):
    """A requests.Session signed in through the real /login form."""
    s = requests.Session()
    r = s.post(
        srv.root_url + "/login",
        data={"email": USERS[who]["email"], "password": USERS[who]["password"]},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303 and "campfire_session" in s.cookies
    return s


def approve_page(session, uri):
    """Open the approval page; return (html, csrf)."""
    page = session.get(uri, timeout=10)
    assert page.status_code == 200
    csrf = re.search(r"name='csrf' value='([^']+)'", page.text).group(1)
    return page.text, csrf


def test_device_flow_through_the_approval_page(server):
    dev = start(server)
    assert set(dev) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[BCDFGHJKMNPQRSTVWXYZ]{4}-[BCDFGHJKMNPQRSTVWXYZ]{4}", dev["user_code"])
    assert re.fullmatch(r"[0-9a-f]{64}", dev["device_code"])
    assert dev["verification_uri"] == server.root_url + "/cli-auth"
    assert dev["verification_uri_complete"] == dev["verification_uri"] + "?code=" + dev["user_code"]
    assert (dev["expires_in"], dev["interval"]) == (900, 5)

    # the user opens the link: not signed in yet, so the page sends them to the sign-in form
    browser = requests.Session()
    r = browser.get(dev["verification_uri_complete"], timeout=10)
    assert r.status_code == 200 and r.url.startswith(server.root_url + "/login?redirect=")
    assert "<form" in r.text and "password" in r.text
    bad = browser.post(
        server.root_url + "/login",
        data={"email": USERS["full"]["email"], "password": "wrong", "redirect": "/cli-auth"},
        timeout=10,
    )
    assert bad.status_code == 401 and "Wrong email or password" in bad.text
    ok = browser.post(
        server.root_url + "/login",
        data={
            "email": USERS["full"]["email"],
            "password": USERS["full"]["password"],
            "redirect": "/cli-auth?code=" + dev["user_code"],
        },
        timeout=10,
    )
    assert ok.status_code == 200 and dev["user_code"] in ok.text and "Approve" in ok.text

    assert poll(server, dev["device_code"]).json()["error"] == "authorization_pending"
    html, csrf = approve_page(browser, dev["verification_uri_complete"])
    assert USERS["full"]["email"] in html
    done = browser.post(
        server.base_url + "/auth/device/authorize",
        data={"user_code": dev["user_code"], "action": "authorize", "csrf": csrf},
        timeout=10,
    )
    assert done.status_code == 200 and "Approved" in done.text

    # the client polls again after its interval; here a fresh tracker entry stands in for the wait
    server.app.state.poll_tracker.forget(dev["device_code"])
    tokens = poll(server, dev["device_code"], device_name="laptop (Linux)")
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert re.fullmatch(r"rt_[0-9a-f]{64}", body["refresh_token"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["type"], claims["iss"], claims["aud"]) == ("access", "campfire", "campfire-api")
    assert claims["exp"] - claims["iat"] == 3600 and claims["email"] == USERS["full"]["email"]
    who = requests.get(
        server.base_url + "/auth/whoami",
        timeout=10,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()
    assert who["email"] == USERS["full"]["email"] and who["is_admin"] is False
    assert who["created_at"].endswith("+00:00") and who["user_id"] == claims["sub"]
    # the JWT opens data routes with the same access as the user's API key
    meta = requests.get(
        server.base_url + "/metadata",
        timeout=10,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()
    assert [p["slug"] for p in meta["programs"]] == ["ALPHA-UDS", "BETA-UDS"]
    # a consumed code is a clean invalid_grant
    again = poll(server, dev["device_code"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    page = browser.get(dev["verification_uri_complete"], timeout=10)
    assert page.status_code == 400 and "already used" in page.text


def test_polling_too_fast_slows_down(server):
    dev = start(server)
    assert poll(server, dev["device_code"]).json()["error"] == "authorization_pending"
    fast = poll(server, dev["device_code"]).json()
    assert fast["error"] == "slow_down" and fast["interval"] == 10
    assert poll(server, dev["device_code"]).json()["interval"] == 15


def test_deny_through_json_and_csrf(server):
    dev = start(server)
    browser = browser_login(server)
    _, csrf = approve_page(browser, dev["verification_uri_complete"])
    url = server.base_url + "/auth/device/authorize"
    body = {"user_code": dev["user_code"].lower(), "action": "deny"}
    assert browser.post(url, json=body, timeout=10).status_code == 403  # no CSRF token
    anon = requests.post(url, json=body, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert anon.status_code == 401 and anon.json()["error"] == "unauthorized"
    r = browser.post(url, json=body, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.json() == {"success": True}
    assert poll(server, dev["device_code"]).json()["error"] == "access_denied"
    again = browser.post(url, json=body, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert (again.status_code, again.json()["error"]) == (400, "failed")


def test_validate_and_token_errors(server):
    dev = start(server)
    url = server.base_url + "/auth/device/validate"
    assert requests.post(url, json={"user_code": dev["user_code"]}, timeout=10).json() == {
        "valid": True
    }
    assert requests.post(url, json={"user_code": "BBBB-BBBB"}, timeout=10).status_code == 404
    assert requests.post(url, json={}, timeout=10).json()["error"] == "invalid_request"
    tok = server.base_url + "/auth/device/token"
    assert (
        requests.post(tok, json={"grant_type": "x", "device_code": "y"}, timeout=10).json()["error"]
        == "unsupported_grant_type"
    )
    assert (
        requests.post(tok, json={"grant_type": GRANT}, timeout=10).json()["error"]
        == "invalid_request"
    )
    assert poll(server, "0" * 64).json()["error"] == "invalid_grant"
    conn = server.app.state.archive.db.conn()
    conn.execute(
        "UPDATE device_codes SET expires_at = '2000-01-01T00:00:00.000000+00:00' "
        "WHERE device_code = ?",
        (dev["device_code"],),
    )
    assert poll(server, dev["device_code"]).json()["error"] == "expired_token"


def _tokens(server):
    dev = start(server)
    browser = browser_login(server)
    _, csrf = approve_page(browser, dev["verification_uri_complete"])
    browser.post(
        server.base_url + "/auth/device/authorize",
        data={"user_code": dev["user_code"], "action": "authorize", "csrf": csrf},
        timeout=10,
    )
    return poll(server, dev["device_code"]).json()


def refresh(srv, token, grant="refresh_token"):
    return requests.post(
        srv.base_url + "/auth/refresh",
        timeout=10,
        json={"grant_type": grant, "refresh_token": token},
    )


def test_refresh_rotates_and_revoke_ends_it(server):
    first = _tokens(server)
    second = refresh(server, first["refresh_token"])
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"] and new["expires_in"] == 3600
    old = refresh(server, first["refresh_token"])
    assert (old.status_code, old.json()["error"]) == (400, "invalid_grant")
    revoke = requests.post(
        server.base_url + "/auth/revoke", json={"token": new["refresh_token"]}, timeout=10
    )
    assert revoke.json() == {"revoked": True}
    assert refresh(server, new["refresh_token"]).json()["error"] == "invalid_grant"
    for junk in ({"token": "nonsense"}, {}, None):
        r = requests.post(server.base_url + "/auth/revoke", json=junk, timeout=10)
        assert (r.status_code, r.json()) == (200, {"revoked": True})
    fmt = refresh(server, "sk_live_abc").json()
    assert fmt == {"error": "invalid_grant", "error_description": "Invalid refresh token format"}
    assert refresh(server, "rt_x", grant="password").json()["error"] == "unsupported_grant_type"
    assert refresh(server, "").json()["error"] == "invalid_request"


def test_revoke_answers_revoked_for_any_body(server):
    for body in (b"{not json", b"[1, 2]", b"  "):
        r = requests.post(
            server.base_url + "/auth/revoke",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert (r.status_code, r.json()) == (200, {"revoked": True})


def test_revoke_logs_an_internal_error_and_still_answers_revoked(fresh, caplog):
    token = _tokens(fresh)["refresh_token"]
    with fresh.app.state.archive.db.transaction() as conn:  # break the table under the route
        conn.execute("ALTER TABLE refresh_tokens RENAME TO refresh_tokens_gone")
    with caplog.at_level("ERROR", logger="campfire.server"):
        r = requests.post(fresh.base_url + "/auth/revoke", json={"token": token}, timeout=10)
    assert (r.status_code, r.json()) == (200, {"revoked": True})  # contract 2.6, RFC 7009
    failed = [rec for rec in caplog.records if "revoking a refresh token failed" in rec.message]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert "refresh_tokens" in str(failed[0].exc_info[1])


def test_bad_access_tokens_are_401(server):
    secret = server.app.state.archive.secret
    uid = api_get(server, "/auth/whoami").json()["user_id"]
    expired = issue_access_token(secret, uid, "x@y.z", lifetime=-10)
    forged = issue_access_token(b"not the server secret", uid, "x@y.z")
    good = issue_access_token(secret, uid, "x@y.z")
    for token, status in ((expired, 401), (forged, 401), (good, 200)):
        r = requests.get(
            server.base_url + "/objects", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert r.status_code == status
    r = requests.get(
        server.base_url + "/auth/whoami", headers={"Authorization": "Bearer x"}, timeout=10
    )
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "cli-auth"])
def test_login_never_redirects_off_site(server, target):
    s = requests.Session()
    r = s.post(
        server.root_url + "/login",
        data={
            "email": USERS["public"]["email"],
            "password": USERS["public"]["password"],
            "redirect": target,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_api_key_page_creates_a_working_key(server):
    browser = browser_login(server, "public")
    page = browser.get(server.root_url + "/profile/api-keys", timeout=10)
    csrf = re.search(r"name='csrf' value='([^']+)'", page.text).group(1)
    made = browser.post(
        server.root_url + "/profile/api-keys", data={"csrf": csrf, "name": "nb"}, timeout=10
    )
    key = re.search(r"sk_live_[0-9a-f]{64}", made.text).group(0)
    r = requests.get(
        server.base_url + "/auth/whoami", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert r.json()["email"] == USERS["public"]["email"]
    stale = browser.post(server.root_url + "/profile/api-keys", data={"csrf": "x"}, timeout=10)
    assert stale.status_code == 403


def test_reads_do_not_wait_for_a_deploy_holding_the_write_lock(fresh):
    from campfire.server.auth.users import create_api_key

    key = create_api_key(fresh.app.state.archive, "public@example.org")
    db = fresh.app.state.archive.db
    lock = db._connect()  # a second connection, as a deploy's (SQLite file or PostgreSQL)
    lock.execute("BEGIN IMMEDIATE")  # what a deploy holds while it writes an observation
    try:
        r = requests.get(
            fresh.base_url + "/objects", timeout=10, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 200 and r.json()["pagination"]["total"] == 4
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    for _ in range(200):  # the background writer records the key's use once the lock is free
        row = (
            db.conn()
            .execute("SELECT last_used_at FROM api_keys WHERE key_prefix = ?", (key[:16] + "...",))
            .fetchone()
        )
        if row[0] is not None:
            break
        time.sleep(0.05)
    assert row[0] is not None and row[0].endswith("+00:00")


def test_access_tokens_issued_together_differ_and_name_themselves(server):
    """Each access token carries its own ``jti``: two issued in the same second differ, and a
    token without one (issued before) stays valid.
    """
    import jwt

    secret = server.app.state.archive.secret
    uid = api_get(server, "/auth/whoami").json()["user_id"]
    tokens = [issue_access_token(secret, uid, "x@y.z") for _ in range(20)]
    ids = [jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens]
    assert len(set(tokens)) == len(set(ids)) == 20
    claims = jwt.decode(tokens[0], options={"verify_signature": False})
    del claims["jti"]
    from campfire.server.auth.credentials import _jwt_key

    old = jwt.encode(claims, _jwt_key(secret), algorithm="HS256")
    r = requests.get(server.base_url + "/objects", headers={"Authorization": f"Bearer {old}"},
                     timeout=10)  # fmt: skip
    assert r.status_code == 200
