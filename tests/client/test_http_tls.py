"""HTTPS: our own server under uvicorn on loopback, with a certificate from a throwaway CA.

API calls and downloads trust the CA that ``REQUESTS_CA_BUNDLE`` (or ``SSL_CERT_FILE``, or
``CURL_CA_BUNDLE``) names; without it both fail with one clear campfire error that says what to
set, and nothing is retried (a certificate does not get better by asking again).
"""

from __future__ import annotations

import hashlib

import pytest
import trustme
from click.testing import CliRunner

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.archive.transport import CA_VARIABLES
from campfire.catalog.store import Store
from campfire.cli import main
from campfire.download.plan import plan_downloads
from campfire.download.run import download, fetch_one
from campfire.download.transfer import Fetcher
from campfire.errors import APIError, CampfireError, DownloadError
from campfire.server.testing import running_server
from campfire.sync.engine import sync_catalog

OBS = "capers_cosmos_p1"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A throwaway CA, a server certificate for 127.0.0.1 it signed, and a stranger CA."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "server.pem")
    )
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(folder / "other-ca.pem"))
    return folder


@pytest.fixture(scope="module")
def tls_server(_shared_server, certs):
    pem = certs / "server.pem"
    with running_server(_shared_server.archive_dir, ssl_certfile=pem, ssl_keyfile=pem) as srv:
        yield srv


@pytest.fixture
def trust(monkeypatch):
    """Clear every CA variable; ``trust(name, path)`` sets one."""
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return lambda name, path: monkeypatch.setenv(name, str(path))


def tls_api(srv, helpers, sleeps=None):
    retry = RetryPolicy(retries=2, backoff=0.01, jitter=0.0, sleep=(sleeps or []).append)
    key = ApiKeyProvider(helpers.user_key(srv, "alice"))
    return ApiClient(helpers.make_settings(srv), key, retry=retry)


def served_files(srv, observation):
    folder = srv.archive_dir / "store" / "spectra" / observation
    return {
        p.name: "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.glob("*_spec.fits")
    }


def test_api_calls_and_downloads_trust_the_ca_in_requests_ca_bundle(
    tls_server, certs, helpers, trust, tmp_path
):
    trust("REQUESTS_CA_BUNDLE", certs / "ca.pem")
    assert tls_server.base_url.startswith("https://127.0.0.1:")
    api = tls_api(tls_server, helpers)
    assert api.whoami()["email"] == "alice@campfire.demo"
    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api, store)
        plan = plan_downloads(store, observations=[OBS])
        result = download(api, store, plan)
        assert result.ok and result.downloaded == len(plan) > 0
        got = {
            p.name: "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (store.products_dir / OBS).glob("*.fits")
        }
    assert got == served_files(tls_server, OBS)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_the_other_ca_variables_work_for_both(
    tls_server, certs, helpers, trust, tmp_path, variable
):
    trust(variable, certs / "ca.pem")
    api = tls_api(tls_server, helpers)
    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api, store)
        row = dict(store.conn.execute("SELECT * FROM spectra LIMIT 1").fetchone())
        path = fetch_one(api, store, row)
    assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == row["file_hash"]


@pytest.mark.parametrize("ca", [None, "other-ca.pem"], ids=["no-ca", "another-ca"])
def test_an_untrusted_certificate_is_one_clear_error_not_retried(
    tls_server, certs, helpers, trust, ca
):
    if ca:
        trust("REQUESTS_CA_BUNDLE", certs / ca)
    sleeps: list[float] = []
    with pytest.raises(APIError) as info:
        tls_api(tls_server, helpers, sleeps).get_metadata()
    message = str(info.value)
    assert message.startswith("Could not verify the TLS certificate of 127.0.0.1:")
    assert "set REQUESTS_CA_BUNDLE" in message and "PEM" in message
    assert ("(now " in message) == bool(ca)  # says which bundle was in use, if any
    if ca:
        assert str(certs / ca) in message
    assert sleeps == []  # not retried


def test_a_download_without_the_ca_fails_clearly(tls_server, certs, helpers, trust, tmp_path):
    trust("REQUESTS_CA_BUNDLE", certs / "ca.pem")
    sleeps: list[float] = []
    api = tls_api(tls_server, helpers, sleeps)
    entry = api.fetch_manifest(OBS)["spectra"][0]
    trust("REQUESTS_CA_BUNDLE", certs / "other-ca.pem")  # the file server is not trusted now
    fetcher = Fetcher(api, None, 5.0, None)
    dest = tmp_path / "x_spec.fits"
    with pytest.raises(DownloadError, match="set REQUESTS_CA_BUNDLE") as info:
        fetcher.fetch(OBS, entry["fits_path"], entry["download_url"], dest, entry["file_hash"],
                      entry["file_size"])  # fmt: skip
    assert str(info.value).startswith("Could not verify the TLS certificate of 127.0.0.1:")
    assert sleeps == [] and not dest.exists()


def test_the_cli_prints_the_advice_without_a_traceback(tls_server, helpers, trust, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", tls_server.base_url)
    env = {"CAMPFIRE_API_KEY": helpers.user_key(tls_server, "alice")}
    r = CliRunner().invoke(main, ["sync"], env=env)
    assert r.exit_code == 1
    assert "Could not verify the TLS certificate" in r.stderr and "REQUESTS_CA_BUNDLE" in r.stderr
    assert "Traceback" not in r.output + r.stderr
    assert not isinstance(r.exception, CampfireError)  # handled: a SystemExit, not raised
