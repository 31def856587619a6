"""A pull from a device the server has seen before authenticates the caller with the page's own
statement (``feed.pull_json_as``). Whatever changed about the caller since the last request
is honoured on the very next pull, exactly as a first pull would: a revoked device is told to
wipe, a deactivated user or an expired token is refused, and a caller whose role changed gets
the page their new role allows, never one read for who they were."""

from __future__ import annotations

import time

from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import update

from fieldkit.server.models import User


def _error(r) -> str:  # type: ignore[no-untyped-def]
    return str(r.json()["error"]["code"])


def test_a_device_revoked_between_two_pulls_is_told_to_wipe(world: ServerWorld) -> None:
    dev = world.device("anna", "worker", world.team("T"))
    assert dev.pull().status_code == 200
    world.revoke(dev.device_id)
    r = dev.pull()
    assert r.status_code == 403 and _error(r) == "device_revoked"
    assert r.json()["error"]["detail"] == {"wipe": True}
    assert "changes" not in r.json()


def test_a_user_deactivated_between_two_pulls_is_refused(world: ServerWorld) -> None:
    dev = world.device("anna", "worker", world.team("T"))
    assert dev.pull().status_code == 200
    with world.factory() as session, session.begin():
        session.execute(update(User).where(User.id == dev.user_id).values(active=False))
    r = dev.pull()
    assert r.status_code == 401 and _error(r) == "unauthorized"


def test_a_token_that_expires_between_two_pulls_is_refused(db_url: str) -> None:
    world = ServerWorld(db_url, access_token_ttl_seconds=1)
    try:
        dev = world.device("anna", "worker", world.team("T"))
        assert dev.pull().status_code == 200
        time.sleep(2.1)
        r = dev.pull()
        assert r.status_code == 401 and _error(r) == "token_expired"
    finally:
        world.close()


def test_a_caller_whose_role_changed_gets_the_page_of_the_new_role(world: ServerWorld) -> None:
    """Promoted to team lead between two pulls, she receives the team's case she could not
    see as a worker; demoted again, the next page no longer carries its new entries."""
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    bo = world.device("bo", "worker", team)
    args = case_args(bo)
    case_id = args["case"]["id"]
    assert bo.push_one("case.create", **args)["status"] == "applied"
    first = anna.pull().json()
    assert case_id not in {c["record_id"] for c in first["changes"]}
    cursor = first["cursor"]

    with world.factory() as session, session.begin():
        session.execute(update(User).where(User.id == anna.user_id).values(role="team_lead"))
    note = note_dict(bo, case_id, text="Ny anteckning")
    assert bo.push_one("note.create", note=note)["status"] == "applied"
    as_lead = anna.pull(cursor).json()
    assert note["id"] in {c["record_id"] for c in as_lead["changes"]}

    with world.factory() as session, session.begin():
        session.execute(update(User).where(User.id == anna.user_id).values(role="worker"))
    later = note_dict(bo, case_id, text="Ännu en anteckning")
    assert bo.push_one("note.create", note=later)["status"] == "applied"
    as_worker = anna.pull(as_lead["cursor"]).json()
    assert later["id"] not in {c["record_id"] for c in as_worker["changes"]}


def test_another_devices_token_never_reads_as_the_device_seen_before(
    world: ServerWorld,
) -> None:
    """What a process remembers of a device is keyed by the signed token's device: a second
    user's pull is answered with the second user's page."""
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    bo = world.device("bo", "worker", team)
    args = case_args(anna)
    assert anna.push_one("case.create", **args)["status"] == "applied"
    assert args["case"]["id"] in {c["record_id"] for c in anna.pull().json()["changes"]}
    seen_by_bo = {c["record_id"] for c in bo.pull().json()["changes"]}
    assert args["case"]["id"] not in seen_by_bo
    assert args["case"]["id"] not in {c["record_id"] for c in bo.pull().json()["changes"]}
