"""Comments and lists in the demo archive, written the way the API writes them.

Alice (admin, every program) and Carol (RUBIES) comment on the reference object and a few
others, Carol keeps a shared ``public_edit`` list ``follow-up`` that Alice adds to, and a private
list ``carol-rubies`` that only she sees. Bob (public programs only) sees the comments on public
objects, the shared list, and neither the comment on a RUBIES object nor Carol's private list.
The writes go through the same catalog functions as the routes, so they leave audit rows.

Examples
--------
>>> annotate_demo(archive)  # doctest: +SKIP
{'comments': 5, 'lists': 2}
"""

from __future__ import annotations

import sqlite3

from campfire.server.archive import Archive
from campfire.server.auth.access import Principal, accessible_programs
from campfire.server.catalog.comments import create_comment
from campfire.server.catalog.lists import change_members, create_list, visible_list
from campfire.server.demo.scales import HERO
from campfire.server.http.writes import Writer
from campfire.server.storage.database import utc_now

__all__ = ["COMMENTS", "annotate_demo"]

ALICE, CAROL = "alice@campfire.demo", "carol@campfire.demo"

#: (author, which object, text); objects: ``hero``, ``public<i>`` (the i-th quality-4 object of
#: the public programs), ``rubies<i>`` (the i-th object of RUBIES only)
COMMENTS = [
    (ALICE, "hero", "Broad Hα on a V-shaped continuum: a little red dot. z = 3.421 from [OIII] "
                    "and Hα, quality 4."),
    (CAROL, "hero", "Agreed: G395M resolves the broad Hα wing."),
    (CAROL, "public0", "Clean PRISM fit: [OIII] 4959, 5007 and Hβ line up."),
    (ALICE, "public1", "Check the G395M chip gap before trusting the Hα flux."),
    (CAROL, "rubies0", "Red continuum, no line above 3σ: a quiescent candidate?"),
]  # fmt: skip


def _writer(conn: sqlite3.Connection, email: str) -> Writer:
    uid, name, admin = conn.execute(
        "SELECT id, coalesce(full_name, email), is_admin FROM users WHERE email = ?", (email,)
    ).fetchone()
    principal = Principal(uid, email, bool(admin), accessible_programs(conn, uid))
    return Writer(principal, name, True)


def _picks(conn: sqlite3.Connection) -> dict[str, str]:
    """The objects the annotations go on (those that exist at this scale)."""
    out: dict[str, str] = {}
    hero = conn.execute(
        "SELECT o.object_id FROM targets t JOIN objects o ON o.id = t.object_pk "
        "WHERE t.target_id = ?",
        (f"{HERO['observation']}_{HERO['source_id']}",),
    ).fetchone()
    if hero is not None:
        out["hero"] = hero[0]
    public = conn.execute(
        "SELECT o.object_id FROM objects o WHERE o.is_active = 1 AND o.redshift_quality = 4 "
        "AND NOT EXISTS (SELECT 1 FROM object_programs p JOIN programs g ON g.slug = "
        "p.program_slug WHERE p.object_pk = o.id AND g.is_public = 0) AND o.object_id != ? "
        "ORDER BY o.object_id LIMIT 4",
        (out.get("hero", ""),),
    ).fetchall()
    out.update({f"public{i}": r[0] for i, r in enumerate(public)})
    rubies = conn.execute(
        "SELECT o.object_id FROM objects o WHERE o.is_active = 1 AND o.programs_key = 'RUBIES' "
        "ORDER BY o.object_id LIMIT 3"
    ).fetchall()
    out.update({f"rubies{i}": r[0] for i, r in enumerate(rubies)})
    return out


def annotate_demo(archive: Archive) -> dict[str, int]:
    """Add the demo's comments and lists (needs the demo users); return how many of each."""
    with archive.db.transaction() as conn:
        now = utc_now()
        alice, carol = _writer(conn, ALICE), _writer(conn, CAROL)
        who = {ALICE: alice, CAROL: carol}
        picks = _picks(conn)
        n = 0
        for email, which, text in COMMENTS:
            if which in picks:
                create_comment(conn, who[email], picks[which], {"body": text}, now)
                n += 1
        create_list(conn, carol, {"slug": "follow-up", "name": "Follow-up candidates",
                                  "description": "Objects worth a deeper look; anyone may add.",
                                  "visibility": "public_edit"}, now)  # fmt: skip
        # not the reference object: the reference docs show its tags as just ``lrd``
        shared = [picks[k] for k in ("public0", "public1", "public2") if k in picks]
        row = visible_list(conn, carol.principal, "follow-up")
        change_members(conn, carol, row, {"object_ids": shared}, True, now)
        if "public3" in picks:
            change_members(conn, alice, row, {"object_ids": [picks["public3"]]}, True, now)
        create_list(conn, carol, {"slug": "carol-rubies", "name": "Carol's RUBIES picks",
                                  "visibility": "private"}, now)  # fmt: skip
        mine = [picks[k] for k in ("rubies0", "rubies1", "rubies2") if k in picks]
        row = visible_list(conn, carol.principal, "carol-rubies")
        change_members(conn, carol, row, {"object_ids": mine}, True, now)
    return {"comments": n, "lists": 2}
