"""The inspection bar's state machine: drafts, and each save's path (saved, queued, conflict).

Pure Python: the expected states and texts are written out by hand from the diagram in
``campfire/views/widgets/inspection_state.py``.
"""

from __future__ import annotations

import itertools

import pytest

from campfire.errors import ValidationError
from campfire.views.widgets.inspection_state import (
    SAVE_STATES,
    TRANSITIONS,
    SaveRecord,
    check_redshift,
    draft_changes,
    quality_text,
)
from campfire.views.widgets.inspection_writes import comment_item, conflict_info

UNINSPECTED = {"redshift": 2.3052, "redshift_auto": 2.3052, "redshift_inspected": None,
               "redshift_quality": 0}  # fmt: skip
INSPECTED = {"redshift": 6.1, "redshift_auto": 6.05, "redshift_inspected": 6.1,
             "redshift_quality": 3}  # fmt: skip

CONFLICT_409 = {
    "error": "version_conflict", "message": "object changed since version 4",
    "current_version": 5, "current_redshift_inspected": 2.2901, "current_redshift_quality": 3,
    "last_inspected_at": "2026-12-07T15:03:00+00:00",
    "conflicting_user": {"id": "5b0c…", "name": "Ana Ortiz"},
}  # fmt: skip


# -- drafts ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stored", "z", "q", "expected"),
    [
        (UNINSPECTED, 2.3052, 0, {}),  # as loaded: nothing to save
        (UNINSPECTED, 2.30521, None, {}),  # the same to the 4 decimals shown
        (UNINSPECTED, 2.3052, 4, {"quality": 4}),  # confirming the automatic z as secure
        (UNINSPECTED, 2.31, 0, {"redshift": 2.31}),
        (UNINSPECTED, 2.31, 4, {"redshift": 2.31, "quality": 4}),
        (INSPECTED, 6.1, 3, {}),
        (INSPECTED, 6.05, 3, {"redshift": 6.05}),  # back to the automatic value is a change
        (INSPECTED, 6.1, 1, {"quality": 1}),
        (INSPECTED, None, None, {}),
    ],
)
def test_draft_changes(stored, z, q, expected):
    assert draft_changes(stored, z, q) == expected


def test_draft_with_a_redshift_out_of_range_is_refused():
    with pytest.raises(ValidationError, match=r"from -0\.1 to 30"):
        draft_changes(UNINSPECTED, 31.0, None)
    with pytest.raises(ValidationError, match="quality"):
        draft_changes(UNINSPECTED, None, 7)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.2, 30.01, "two", True])
def test_check_redshift_refuses(bad):
    with pytest.raises(ValidationError, match=r"redshift must be a number from -0\.1 to 30"):
        check_redshift(bad)


def test_check_redshift_accepts_the_api_range():
    assert check_redshift(-0.1) == -0.1 and check_redshift(30) == 30.0
    assert check_redshift("2.5") == 2.5 and check_redshift(None) is None


def test_quality_text_names_every_grade():
    assert [quality_text(q) for q in range(5)] == [
        "0 none", "1 impossible", "2 tentative", "3 probable", "4 secure",
    ]  # fmt: skip
    assert quality_text(None) == ""


# -- a save's path -----------------------------------------------------------------------------
def test_online_save_confirms_after_the_local_write_then_is_saved():
    rec = SaveRecord("J1", redshift=2.31, quality=4)
    assert rec.state == "saving" and rec.text() == "saving: z = 2.3100, 4 secure"
    rec.local_done()
    assert rec.state == "sending" and rec.text() == "saved locally, sending: z = 2.3100, 4 secure"
    rec.server_done()
    assert rec.state == "saved" and rec.done
    assert rec.as_dict()["text"] == "saved: z = 2.3100, 4 secure"
    assert rec.as_dict()["quality_text"] == "4 secure"


def test_offline_save_is_queued_and_a_later_sync_saves_it():
    rec = SaveRecord("J1", quality=3).local_done()
    rec.offline("CAMPFIRE_OFFLINE is set")
    assert rec.state == "queued" and rec.text() == "queued offline: 3 probable"
    assert not rec.done
    rec.server_done()  # the next sync pushed it
    assert rec.state == "saved"


def test_conflict_keeps_both_values_and_who_wrote_theirs():
    rec = SaveRecord("J1", redshift=2.31, quality=4).local_done()
    rec.server_conflict(CONFLICT_409)
    assert rec.state == "conflict"
    assert rec.theirs == {
        "redshift": 2.2901, "quality": 3, "by": "Ana Ortiz",
        "at": "2026-12-07T15:03:00+00:00", "version": 5,
    }  # fmt: skip
    assert rec.text() == (
        "conflict: yours z = 2.3100, 4 secure; theirs z = 2.2901, 3 probable by Ana Ortiz"
    )
    assert rec.message == "object changed since version 4"


def test_keep_mine_forces_a_new_save_and_take_theirs_discards():
    mine = SaveRecord("J1", quality=4).local_done().server_conflict(CONFLICT_409)
    mine.keep_mine()
    assert mine.state == "saving" and mine.force
    mine.local_done().server_done()
    assert mine.state == "saved"
    theirs = SaveRecord("J2", quality=4).local_done().server_conflict(CONFLICT_409)
    theirs.take_theirs()
    assert theirs.state == "discarded" and theirs.done and not theirs.force
    assert theirs.text() == "dropped (theirs kept): 4 secure"


def test_a_refused_save_says_why_and_can_be_retried_without_force():
    rec = SaveRecord("J1", quality=4).local_done()
    rec.failed("you may not inspect: ask an admin for can_inspect")
    assert rec.text() == "not saved: 4 secure (you may not inspect: ask an admin for can_inspect)"
    rec.keep_mine()
    assert rec.state == "saving" and not rec.force


def test_every_arrow_not_in_the_diagram_is_refused():
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    events = {
        "sending": SaveRecord.local_done, "saved": SaveRecord.server_done,
        "queued": SaveRecord.offline, "error": lambda r: r.failed("x"),
        "conflict": lambda r: r.server_conflict({}), "discarded": SaveRecord.take_theirs,
        "saving": SaveRecord.keep_mine,
    }  # fmt: skip
    assert set(events) == set(SAVE_STATES)
    for start, target in itertools.product(SAVE_STATES, SAVE_STATES):
        rec = SaveRecord("J1", quality=2)
        rec.state = start
        if (start, target) in allowed:
            events[target](rec)
            assert rec.state == target
        else:
            with pytest.raises(ValidationError, match=f"from {start!r} to {target!r}"):
                events[target](rec)
            assert rec.state == start


# -- what the client answers, as the bar shows it ----------------------------------------------
def test_conflict_info_from_error_attributes_or_body():
    from campfire.errors import CampfireError

    exc = CampfireError("stale version", status_code=409, response=CONFLICT_409)
    assert conflict_info(exc)["conflicting_user"]["name"] == "Ana Ortiz"

    class Conflict(CampfireError):
        pass

    exc = Conflict("stale")
    exc.current_redshift_quality = 2  # type: ignore[attr-defined]
    info = conflict_info(exc)
    assert info["current_redshift_quality"] == 2 and info["message"] == "stale"


def test_comment_items_from_objects_or_dicts():
    class Comment:
        id, user_name, body, created_at = 7, "ana", "Hα at 2.30", "2026-12-07T15:00:00+00:00"

    expected = {"id": 7, "user_name": "ana", "body": "Hα at 2.30",
                "created_at": "2026-12-07T15:00:00+00:00", "pending": False}  # fmt: skip
    assert comment_item(Comment()) == expected
    assert comment_item(dict(expected)) == expected
