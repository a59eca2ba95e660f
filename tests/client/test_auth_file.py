"""The credentials file (section 5.3) and credential providers, without a server."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from campfire.archive.auth import (
    CREDENTIAL_KEYS,
    ApiKeyProvider,
    Credentials,
    FileCredentialProvider,
    load_credentials,
    provider_for,
    save_credentials,
)
from campfire.config import Settings
from campfire.errors import AuthenticationError

NINE_KEYS = {
    "type", "access_token", "refresh_token", "supabase_token", "supabase_url",
    "supabase_anon_key", "expires_at", "user_email", "api_key",
}  # fmt: skip


def test_file_has_exactly_nine_keys_and_private_permissions(tmp_path):
    path = tmp_path / "home" / "credentials"
    save_credentials(path, Credentials.for_api_key("sk_live_" + "1" * 64, "a@b.c"))
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    data = json.loads(text)
    assert set(data) == NINE_KEYS == set(CREDENTIAL_KEYS)
    assert data["type"] == "api_key" and data["access_token"] is None
    assert text.startswith('{\n  "')  # pretty-printed with indent 2, as upstream writes it
    assert not (path.parent / "credentials.tmp").exists()


def test_existing_directory_permissions_are_tightened(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    save_credentials(home / "credentials", Credentials.for_api_key("sk_x"))
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"access_token": "x"}),  # no type
        json.dumps({**dict.fromkeys(CREDENTIAL_KEYS), "type": "oauth", "extra": 1}),
        json.dumps(["type"]),
    ],
)
def test_unreadable_files_mean_logged_out(tmp_path, content):
    path = tmp_path / "credentials"
    path.write_text(content)
    assert load_credentials(path) is None
    with pytest.raises(AuthenticationError, match="Run: campfire login"):
        FileCredentialProvider(Settings.from_env({"CAMPFIRE_HOME": str(tmp_path)})).bearer()


def test_token_response_expiry_is_naive_utc_with_z():
    before = datetime.now(UTC).replace(tzinfo=None)
    creds = Credentials.from_token_response(
        {"access_token": "a", "refresh_token": "rt_x", "expires_in": 3600}, "me@x.org"
    )
    assert creds.expires_at.endswith("Z") and "+" not in creds.expires_at
    delta = creds.expires - before
    assert timedelta(minutes=59) < delta <= timedelta(hours=1, seconds=5)
    assert not creds.needs_refresh()
    creds.expires_at = (before + timedelta(minutes=4)).isoformat() + "Z"
    assert creds.needs_refresh()  # within the five-minute margin
    creds.expires_at = "garbage"
    assert creds.needs_refresh()
    with pytest.raises(AuthenticationError, match="refresh_token"):
        Credentials.from_token_response({"access_token": "a", "expires_in": 1})


def test_environment_api_key_wins_without_a_file(tmp_path):
    settings = Settings.from_env(
        {"CAMPFIRE_API_KEY": "sk_live_env", "CAMPFIRE_HOME": str(tmp_path)}
    )
    provider = provider_for(settings)
    assert isinstance(provider, ApiKeyProvider)
    assert provider.bearer() == "sk_live_env" and not provider.refresh_after_401("sk_live_env")
    assert not (tmp_path / "credentials").exists()


def test_a_saved_api_key_is_sent_and_never_refreshed(tmp_path):
    settings = Settings.from_env({"CAMPFIRE_HOME": str(tmp_path)})
    save_credentials(settings.credentials_path, Credentials.for_api_key("sk_live_saved"))
    provider = provider_for(settings)
    assert provider.bearer() == "sk_live_saved"
    assert provider.refresh_after_401("sk_live_saved") is False
