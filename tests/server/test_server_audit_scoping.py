"""Acceptance audit of scoping: what test_server_scoping.py's matrix does not cover.

Its push matrix aims thirteen mutations at own / teammate's / other team's / unknown cases;
not ``note.sign``, ``assessment.submit`` or ``case.create`` (a case in another team, or for
another owner), and no worker there reaches a case by being assigned to it, which is half of
what a worker may see. Here: those, with the same standard (a foreign case answers exactly
like an unknown one), and an assignment given and taken away, through push, pull and the
integrity endpoint."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from server_helpers import (
    Device,
    ServerWorld,
    assessment_dict,
    case_args,
    fresh_id,
    note_dict,
)
from test_server_scoping import REACH, answer, make_case


def aimed_at(actor: Device, case_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The mutations the matrix leaves out, with fresh record ids, aimed at ``case_id``."""
    # an administrator cannot submit at all on the laptop: its attempt is built as a worker's
    author = actor if actor.role != "admin" else dataclasses.replace(actor, role="worker")
    return {
        "note.sign": ("note.sign", {"note": note_dict(actor, case_id, signed=True)}),
        "assessment.submit": (
            "assessment.submit",
            {"assessment": assessment_dict(author, case_id, submit=True)},
        ),
    }


@pytest.mark.parametrize("actor_name", ["anna", "lena", "root"])
def test_signing_and_submitting_reach_only_visible_cases(
    team_world: ServerWorld, actor_name: str
) -> None:
    d = team_world.devices  # type: ignore[attr-defined]
    cases = {owner: make_case(d[owner]) for owner in ("anna", "alva", "bert")}
    actor = d[actor_name]
    unknown = {
        kind: answer(actor.push_one(name, **args))
        for kind, (name, args) in aimed_at(actor, fresh_id()).items()
    }
    for kind, a in unknown.items():
        expected = "forbidden" if actor_name == "root" else "not_found"
        assert a[0] == "rejected" and a[1] == expected, (kind, a)
    for owner, allowed in REACH[actor_name].items():
        for kind, (name, args) in aimed_at(actor, cases[owner]["case_id"]).items():
            result = actor.push_one(name, **args)
            if allowed:
                assert result["status"] == "applied", (owner, kind, result)
            else:
                assert answer(result) == unknown[kind], (owner, kind, result)


@pytest.mark.parametrize("actor_name", ["anna", "lena"])
def test_a_case_is_created_in_ones_own_team_only(team_world: ServerWorld, actor_name: str) -> None:
    d = team_world.devices  # type: ignore[attr-defined]
    actor = d[actor_name]
    elsewhere = case_args(actor)
    elsewhere["case"]["team_id"] = d["bert"].team_id
    result = actor.push_one("case.create", **elsewhere)
    assert result["status"] == "rejected" and result["reason_code"] == "forbidden"
    for_bert = case_args(actor)
    for_bert["case"]["owner_id"] = d["bert"].user_id  # a member of another team
    result = actor.push_one("case.create", **for_bert)
    assert result["status"] == "rejected", result
    # nothing of either reached bert's or berit's feed
    for reader in ("bert", "berit"):
        changes, _ = d[reader].pull_all()
        ids = {c["case_id"] for c in changes}
        assert elsewhere["case"]["id"] not in ids and for_bert["case"]["id"] not in ids


def test_assigned_worker_reaches_the_case_until_unassigned(team_world: ServerWorld) -> None:
    d = team_world.devices  # type: ignore[attr-defined]
    anna, alva, bert = d["anna"], d["alva"], d["bert"]
    case = make_case(anna)
    case_id = case["case_id"]
    unknown = answer(alva.push_one("note.create", note=note_dict(alva, fresh_id())))
    before = answer(alva.push_one("note.create", note=note_dict(alva, case_id)))
    assert before == unknown  # a teammate's case, not assigned: as if it did not exist
    _, cursor = alva.pull_all()

    # another team's worker cannot be assigned
    refused = anna.push_one("case.assign", case_id=case_id, assigned_ids=[bert.user_id])
    assert refused["status"] == "rejected" and refused["reason_code"] == "invalid_user"

    assert anna.push_one("case.assign", case_id=case_id, assigned_ids=[alva.user_id])["status"] == (
        "applied"
    )
    changes, cursor = alva.pull_all(cursor)
    got = {(c["record_type"], c["record_id"]) for c in changes if c["case_id"] == case_id}
    assert ("case", case_id) in got and ("note", case["note"]["id"]) in got
    assert alva.integrity()["case"]["count"] == 1
    assert alva.push_one("note.create", note=note_dict(alva, case_id))["status"] == "applied"
    # assigned is not owner: alva may not assign others
    again = alva.push_one("case.assign", case_id=case_id, assigned_ids=[alva.user_id])
    assert again["status"] == "rejected" and again["reason_code"] == "forbidden"

    assert anna.push_one("case.assign", case_id=case_id, assigned_ids=[])["status"] == "applied"
    changes, cursor = alva.pull_all(cursor)
    assert {"kind": "revoke", "case_id": case_id} in [
        {"kind": c["kind"], "case_id": c["case_id"]} for c in changes if c["kind"] == "revoke"
    ]
    assert alva.integrity()["case"]["count"] == 0
    after = answer(alva.push_one("note.create", note=note_dict(alva, case_id)))
    assert after == unknown
    # and her note written while assigned stays in the case, for the owner
    notes = {c["record_id"] for c in anna.pull_all()[0] if c["record_type"] == "note"}
    assert len(notes) == 2
