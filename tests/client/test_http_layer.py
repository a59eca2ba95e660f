"""The one HTTP layer: no import cycle, one offline switch, one CA bundle, the environment's
proxies for JSON and files alike."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import campfire.archive
from campfire.archive.api import ApiClient
from campfire.archive.streams import proxy_for, ssl_context
from campfire.archive.transport import ca_bundle
from campfire.config import Settings
from campfire.download.transfer import Fetcher
from campfire.errors import OfflineError

ARCHIVE = Path(campfire.archive.__file__).parent
# parsed at collection, before any server thread runs (see TREES in test_layers.py)
TREES: dict[Path, ast.Module] = {
    path: ast.parse(path.read_text(), str(path))
    for path in sorted(Path(campfire.__file__).parent.rglob("*.py"))
}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    out: set[str] = set()
    tree = TREES.get(path) or ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_the_archive_client_never_imports_the_logins():
    """api (and everything under it) must not import auth: credentials are passed in."""
    for name in ("api", "backoff", "contract", "status", "streams", "transport"):
        imports = imported_modules(ARCHIVE / f"{name}.py")
        assert "campfire.archive.auth" not in imports, name
    code = (
        "import sys, campfire.archive.api, campfire.download.transfer;"
        "print('campfire.archive.auth' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert not hasattr(ApiClient, "from_settings")


def test_ca_bundle_follows_requests_then_curl_then_openssl():
    env = {"SSL_CERT_FILE": "/c.pem", "CURL_CA_BUNDLE": "/b.pem", "REQUESTS_CA_BUNDLE": "/a.pem"}
    assert ca_bundle(env) == "/a.pem"
    assert ca_bundle({**env, "REQUESTS_CA_BUNDLE": ""}) == "/b.pem"
    assert ca_bundle({"SSL_CERT_FILE": "/c.pem"}) == "/c.pem"
    assert ca_bundle({}) is None


def test_downloads_and_api_share_one_tls_context_per_bundle(tmp_path):
    import trustme

    pem = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(pem))
    ctx = ssl_context(str(pem))
    assert ctx is ssl_context(str(pem))  # built once per bundle
    assert len(ctx.get_ca_certs()) == 1  # exactly the named CA, not the system store
    assert len(ssl_context(None).get_ca_certs()) > 10  # requests' default bundle


def test_proxies_come_from_the_environment_with_no_proxy(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("no_proxy", "archive.local")
    assert proxy_for("http://example.org/x") == "http://proxy.invalid:3128"
    assert proxy_for("http://archive.local/x") is None
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("NO_PROXY", "example.org")
    assert proxy_for("http://example.org/x") is None


def test_one_offline_switch_stops_downloads_before_any_socket(listener, tmp_path):
    port = listener.getsockname()[1]
    settings = Settings.from_env(
        {"CAMPFIRE_API_URL": f"http://127.0.0.1:{port}/api/v1", "CAMPFIRE_OFFLINE": "1"}
    )
    fetcher = Fetcher(ApiClient(settings), None, 5.0, None)
    url = f"http://127.0.0.1:{port}/api/v1/files/spectra/o/a_spec.fits"
    with pytest.raises(OfflineError, match=r"CAMPFIRE_OFFLINE=1\): cannot download a_spec.fits"):
        fetcher.fetch("o", "spectra/o/a_spec.fits", url, tmp_path / "a_spec.fits", None, None)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
