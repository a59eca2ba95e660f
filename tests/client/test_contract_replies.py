"""Wire replies as the contract words them (#15 item 13), checked against api-v1 itself.

``GET /version``'s ``latest``/``minimum`` are versions of the *upstream* Python client (the
contract's example is ``{"latest": "0.4.0", "minimum": "0.4.0"}``, and the upstream client
compares its own version with them); our own client's range is our extension. The device-token
and refresh replies always carry ``supabase_token`` (null here).
"""

from __future__ import annotations

import re
from pathlib import Path

import requests

from campfire._version import __version__
from campfire.archive.api import ApiClient
from campfire.archive.contract import ServerInfo
from campfire.cli.sync import version_notice

SPEC = Path(__file__).resolve().parents[1] / "data" / "reference" / "api-v1.md"  # our copy
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_version_names_upstream_client_versions_and_ours_apart(server, helpers):
    body = requests.get(server.base_url + "/version", timeout=10).json()
    # the upstream client the contract was written from is 0.4.0 (api-v1, its header)
    assert body["latest"] == body["minimum"] == "0.4.0"
    assert '`{"latest": "0.4.0", "minimum": "0.4.0"}`' in SPEC.read_text()  # the contract's example
    assert body["campfire_client"] == {"latest": __version__, "minimum": "0.1.0"}
    api = ApiClient(helpers.make_settings(server))
    info = api.server_info()
    assert (info.client_latest, info.client_minimum) == (__version__, "0.1.0")
    assert version_notice(api) is None  # this client is current: no upgrade advice


def test_an_upstream_archive_never_advises_an_unrelated_version():
    class Upstream:  # what the upstream archive announces: no campfire_client
        def server_info(self):
            return ServerInfo.from_json({"latest": "9.9.9", "minimum": "9.0.0"})

    class Newer:
        def server_info(self):
            return ServerInfo.from_json({"campfire_client": {"latest": "99.0", "minimum": "0"}})

    assert version_notice(Upstream()) is None
    assert version_notice(Newer()) == f"Update available: campfire 99.0 (you have {__version__})."


def test_token_replies_always_carry_supabase_token(server, helpers):
    grant = requests.post(server.base_url + "/auth/device", timeout=10).json()
    helpers.approve_in_browser(server, grant["verification_uri_complete"], grant["user_code"])
    tokens = requests.post(
        server.base_url + "/auth/device/token",
        json={"grant_type": GRANT, "device_code": grant["device_code"]},
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert "supabase_token" in body and body["supabase_token"] is None
    assert re.match(r"rt_", body["refresh_token"])
    again = requests.post(
        server.base_url + "/auth/refresh",
        json={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        timeout=10,
    )
    assert again.status_code == 200, again.text
    assert "supabase_token" in again.json() and again.json()["supabase_token"] is None
