"""Object ids as the reference writes them, accepted everywhere an object id is taken (#15 item 1).

The reference's own id is a target id (``ember_uds_p4_123456``); ``get_object`` resolves it to
its sky object, and so must ``get_cutout``, ``get_shutters``, ``get_shutters_region`` and
``plot_cutout``, with a synced catalog and without one. The expected object and bytes come from
the server's own database and from the archive's routes asked by the object's name.
"""

from __future__ import annotations

import sqlite3

import pytest

from campfire import Campfire
from campfire.errors import NotFoundError, OfflineError, ValidationError

HERO = "ember_uds_p4_123456"  # the reference docs' id: a target id


def owner_in_archive(server, target_id: str) -> str:
    """The object a target belongs to, read from the server's own database."""
    with sqlite3.connect(server.archive_dir / "archive.db") as db:
        row = db.execute(
            "SELECT o.object_id FROM targets t JOIN objects o ON o.id = t.object_pk "
            "WHERE t.target_id = ?",
            (target_id,),
        ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def alice(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "alice"))
    return Campfire()


@pytest.mark.parametrize("synced", [True, False], ids=["local-catalog", "no-catalog"])
def test_cutouts_and_shutters_take_a_target_id(server, helpers, alice, synced, tmp_path):
    import matplotlib.pyplot as plt

    name = owner_in_archive(server, HERO)
    if synced:
        alice.sync()
    assert alice.resolve_object_id(HERO) == name
    assert alice.get_object(HERO).object_id == name  # what get_object already did
    api = helpers.make_api(server, "alice")
    by_name_png = api.get_cutout(name, fov=3.2)
    path = alice.get_cutout(HERO, fov=3.2)
    assert path.read_bytes() == by_name_png and path.name.startswith(name)
    assert alice.get_shutters(HERO, fov=3.2) == api.get_shutters(name, radius=3.2)
    region = alice.get_shutters_region(HERO, fov=3.2, output=tmp_path / "s.reg").read_text()
    assert "fk5" in region and name in region
    fig, ax = plt.subplots()
    try:
        assert alice.plot_cutout(HERO, fov=3.2, ax=ax) is ax
        assert len(ax.images) == 1
    finally:
        plt.close(fig)


def test_unknown_ids_say_what_an_id_is(alice):
    alice.sync()
    with pytest.raises(NotFoundError, match=r"no object 'ember_uds_p4_999'.*target id"):
        alice.get_cutout("ember_uds_p4_999")
    with pytest.raises(ValidationError, match="non-empty string"):
        alice.get_shutters("  ")
    with pytest.raises(NotFoundError):
        alice.resolve_object_id("ember_uds_p4_999", remote=True)


def test_a_synced_catalog_resolves_without_the_network(server, alice, monkeypatch):
    alice.sync()
    name = owner_in_archive(server, HERO)
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    offline = Campfire()
    assert offline.resolve_object_id(HERO) == name
    with pytest.raises(NotFoundError, match="CAMPFIRE_OFFLINE"):
        offline.resolve_object_id("ember_uds_p4_999")
    with pytest.raises(OfflineError):
        offline.get_cutout(HERO)  # resolved locally; the picture itself needs the archive
