"""The garbage collector is paused only while a sync writes, and always switched back on."""

from __future__ import annotations

import gc

import pytest

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.catalog.store import Store
from campfire.sync.engine import _gc_paused, sync_catalog


@pytest.fixture
def gc_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_restored_even_after_an_error(gc_on):
    with _gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    with _gc_paused():
        pass
    assert not gc.isenabled()


def test_a_sync_pauses_the_collector_while_writing_then_restores_it(
    server, helpers, tmp_path, gc_on
):
    api = ApiClient(helpers.make_settings(server), ApiKeyProvider(helpers.user_key(server, "bob")))
    states = []
    with Store(tmp_path / "meta" / "campfire.db") as store:
        r = sync_catalog(api, store, progress=lambda *a: states.append(gc.isenabled()))
        assert r["objects"] > 0 and states and not any(states)
    assert gc.isenabled()


def test_overlapping_pauses_of_two_syncs_leave_the_collector_on(gc_on):
    """Two syncs in one process (threads of a kernel) overlap: the first to finish must not
    switch the collector on under the other, and the last must not leave it off for good.
    """
    first, second = _gc_paused(), _gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second sync is still writing
    second.__exit__(None, None, None)
    assert gc.isenabled()
