"""Fixtures for the client tests: the tiny demo archive served by the real server on loopback.

``demo_archive`` is the session's one tiny demo archive (``tiny_archive`` in
``tests/conftest.py``, built once through the real generator and ingest; read-only);
``server`` serves a copy of it (faults enabled, cleared after every test);
``fresh_server`` serves a private copy for tests that change the archive (grants, deletions,
redeploys). ``demo_products`` is a private copy of the products the archive was built from
(the same bytes), for tests that redeploy a changed file.

The inspection tests write to the archive: ``inspect_server`` serves each test module its own
copy of the tiny demo archive (fault switch on), ``srv`` is that server for one test (its
faults cleared afterwards), and ``alice_objects`` the object ids alice sees there, sorted.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.config import Settings

SEED = 42


class Sleeps(list):
    """A ``sleep`` that records the delays instead of waiting (for retry/backoff tests)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="session")
def demo_archive(tiny_archive) -> Path:
    """The tiny demo archive (seed :data:`SEED`), built once per session: copy it to change it."""
    return tiny_archive


@pytest.fixture(scope="session")
def _pristine_products(tiny_products) -> Path:
    return tiny_products


@pytest.fixture
def demo_products(_pristine_products, tmp_path) -> Path:
    """A private copy of the products the demo archive was built from (same seed, same bytes)."""
    copy = tmp_path / "products"
    shutil.copytree(_pristine_products, copy)
    return copy


def _serve(archive: Path, **kw):
    from campfire.server.testing import running_server

    return running_server(archive, faults=True, **kw)


@pytest.fixture(scope="session")
def _shared_server(demo_archive, backend, tmp_path_factory):
    served = tmp_path_factory.mktemp("served") / "archive"
    backend.copy(demo_archive, served)
    with _serve(served) as srv:
        yield srv


@pytest.fixture
def server(_shared_server):
    """The shared server (do not change its archive); faults are cleared afterwards."""
    yield _shared_server
    _shared_server.clear_faults()


@pytest.fixture
def fresh_server(demo_archive, backend, tmp_path):
    """A server over a private copy of the demo archive (and of its database)."""
    backend.copy(demo_archive, tmp_path / "archive")
    with _serve(tmp_path / "archive") as srv:
        yield srv


@pytest.fixture(scope="module")
def inspect_server(copy_tiny_archive, tmp_path_factory, request):
    """This test module's own served copy of the tiny demo archive (faults on)."""
    from campfire.server.testing import running_server

    name = request.module.__name__.rsplit(".", 1)[-1]
    served = copy_tiny_archive(tmp_path_factory.mktemp(f"{name}-served") / "archive")
    with running_server(served, faults=True) as srv:
        yield srv


@pytest.fixture
def srv(inspect_server):
    """The module's ``inspect_server`` for one test; the faults it set are cleared after."""
    yield inspect_server
    inspect_server.clear_faults()


@pytest.fixture(scope="module")
def alice_objects(inspect_server, tmp_path_factory) -> list[str]:
    """The object ids alice sees on the module's ``inspect_server``, sorted."""
    from demo_clients import user_client

    cf = user_client(inspect_server, "alice", tmp_path_factory.mktemp("alice-ids"))
    cf.sync()
    return [str(o) for o in cf.sql("SELECT object_id FROM objects ORDER BY 1")["object_id"]]


@pytest.fixture
def store(tmp_path):
    """An empty local catalog (``Store``) in a per-test data directory."""
    with Store(tmp_path / "meta" / "campfire.db") as s:
        yield s


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def user_key(srv, name: str) -> str:
    """The API key of demo user ``alice`` (all programs), ``bob`` (public) or ``carol``."""
    return srv.user(f"{name}@campfire.demo")["api_key"]


def make_settings(srv, root: Path | None = None) -> Settings:
    """Settings from the (test-isolated) environment, pointed at ``srv``."""
    settings = Settings.from_env().with_overrides(base_url=srv.base_url)
    return settings if root is None else settings.with_overrides(data_dir=root)


def make_api(srv, user: str = "alice", sleeps: Sleeps | None = None, **kw) -> ApiClient:
    """An ApiClient for a demo user with fast, recorded backoff."""
    retry = RetryPolicy(
        retries=3, backoff=0.01, jitter=0.0, sleep=sleeps if sleeps is not None else Sleeps()
    )
    return ApiClient(make_settings(srv), ApiKeyProvider(user_key(srv, user)), retry=retry, **kw)


@pytest.fixture
def helpers():
    """The helper functions above, for tests (a conftest module is not importable)."""

    return SimpleNamespace(
        user_key=user_key,
        make_settings=make_settings,
        make_api=make_api,
        approve_in_browser=approve_in_browser,
        device_login=device_login,
    )


def approve_in_browser(srv, verification_uri_complete, user_code, who="alice", action="authorize"):
    """Do what the user does in the browser: sign in on the real page, approve (or deny)."""
    import re

    import requests

    browser = requests.Session()
    user = srv.user(f"{who}@campfire.demo")
    login = browser.post(
        srv.root_url + "/login",
        data={"email": user["email"], "password": user["password"], "redirect": "/cli-auth"},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    page = browser.get(verification_uri_complete, timeout=10)
    assert page.status_code == 200 and user_code in page.text
    csrf = re.search(r"name='csrf' value='([^']+)'", page.text).group(1)
    done = browser.post(
        srv.base_url + "/auth/device/authorize",
        data={"user_code": user_code, "action": action, "csrf": csrf},
        timeout=10,
    )
    assert done.status_code == 200, done.text


def device_login(srv, who="alice"):
    """A real device login: the "browser" approves while the client waits its first interval.

    Returns the credentials (with ``user_email``) and the waits the client asked for.
    """
    from campfire.archive.auth import poll_device_flow, start_device_flow

    api = ApiClient(make_settings(srv))
    grant = start_device_flow(api)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            approve_in_browser(srv, grant.verification_uri_complete, grant.user_code, who=who)

    creds = poll_device_flow(api, grant, sleep=sleep)
    creds.user_email = api.whoami(token=creds.access_token)["email"]
    return creds, waits


@pytest.fixture
def listener():
    """A real listening socket that records whether anybody connected."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()
