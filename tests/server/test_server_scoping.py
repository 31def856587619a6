"""Scoping on every endpoint: endpoint x role x own / teammate's / other team's / unknown.

A worker reaches the cases they own or are assigned to, a team lead the team's cases, an admin
no case content at all. A foreign id is answered exactly like an unknown one."""

from __future__ import annotations

from typing import Any

import pytest
from server_helpers import (
    Device,
    ServerWorld,
    assessment_dict,
    case_args,
    consent_dict,
    disclosure_dict,
    fresh_id,
    intervention_dict,
    note_dict,
    review_dict,
)

from fieldkit.domain.enums import ReviewOutcome


def make_case(dev: Device) -> dict[str, Any]:
    """A case with one of everything, as its owner pushed it."""
    args = case_args(dev)
    case_id, person_id = args["case"]["id"], args["person"]["id"]
    note = note_dict(dev, case_id)
    assessment = assessment_dict(dev, case_id, submit=True)
    consent = consent_dict(dev, case_id, person_id)
    intervention = intervention_dict(dev, case_id)
    results = dev.push(
        dev.mutation("case.create", **args),
        dev.mutation("note.create", note=note),
        dev.mutation("assessment.submit", assessment=assessment),
        dev.mutation("consent.record", consent=consent),
        dev.mutation("intervention.record", intervention=intervention),
    )
    assert all(r["status"] == "applied" for r in results), results
    return {
        "case_id": case_id,
        "person_id": person_id,
        "note": note,
        "assessment": assessment,
        "consent_id": consent["id"],
        "intervention_id": intervention["id"],
    }


def unknown_target() -> dict[str, Any]:
    return {
        "case_id": fresh_id(),
        "person_id": fresh_id(),
        "note": {"id": fresh_id()},
        "assessment": {"id": fresh_id(), "case_id": fresh_id()},
        "consent_id": fresh_id(),
        "intervention_id": fresh_id(),
    }


def attempts(actor: Device, t: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """One mutation of each resource-bound kind, aimed at target ``t``."""
    case_id, person_id = t["case_id"], t["person_id"]
    return {
        "note.create": ("note.create", {"note": note_dict(actor, case_id)}),
        "note.update_draft": (
            "note.update_draft",
            {"note_id": t["note"]["id"], "changes": {"text": "x"}},
        ),
        "case.set_fields": (
            "case.set_fields",
            {"case_id": case_id, "changes": {"district": "Norr"}, "base_versions": {"district": 0}},
        ),
        "case.assign": ("case.assign", {"case_id": case_id, "assigned_ids": []}),
        "person.update": (
            "person.update",
            {"person_id": person_id, "changes": {"phone": "070-1234567"}},
        ),
        "assessment.save_draft": (
            "assessment.save_draft",
            {"assessment": assessment_dict(actor, case_id)},
        ),
        "assessment.review": (
            "assessment.review",
            {
                "review": review_dict(
                    actor, t["assessment"], ReviewOutcome.RETURN, comment="Mer underlag."
                )
            },
        ),
        "consent.record": ("consent.record", {"consent": consent_dict(actor, case_id, person_id)}),
        "consent.withdraw": (
            "consent.withdraw",
            {"consent_id": t["consent_id"], "withdrawn_at": "2026-11-01T10:00:00Z", "reason": ""},
        ),
        "disclosure.record": (
            "disclosure.record",
            {"disclosure": disclosure_dict(actor, case_id, person_id)},
        ),
        "intervention.record": (
            "intervention.record",
            {"intervention": intervention_dict(actor, case_id)},
        ),
        "intervention.update": (
            "intervention.update",
            {"intervention_id": t["intervention_id"], "changes": {"outcome": "x"}},
        ),
        "case.close": (
            "case.close",
            {"case_id": case_id, "reason": "x", "closed_at": "2026-11-01T10:00:00Z"},
        ),
    }


def answer(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["status"], r["reason_code"], r["reason"], r["conflicts"], r["record_version"])


@pytest.fixture
def cases(team_world: ServerWorld) -> dict[str, dict[str, Any]]:
    d = team_world.devices  # type: ignore[attr-defined]
    return {
        "anna": make_case(d["anna"]),
        "alva": make_case(d["alva"]),
        "bert": make_case(d["bert"]),
    }


# who may reach whose case: actor -> {owner of the case: allowed?}
REACH = {
    "anna": {"anna": True, "alva": False, "bert": False},
    "lena": {"anna": True, "alva": True, "bert": False},
    "root": {"anna": False, "alva": False, "bert": False},
}


@pytest.mark.parametrize("actor_name", ["anna", "lena", "root"])
def test_push_matrix(
    team_world: ServerWorld, cases: dict[str, dict[str, Any]], actor_name: str
) -> None:
    actor = team_world.devices[actor_name]  # type: ignore[attr-defined]
    unknown = {
        k: answer(actor.push_one(name, **args))
        for k, (name, args) in attempts(actor, unknown_target()).items()
    }
    for k, a in unknown.items():
        expected_code = "forbidden" if actor_name == "root" else "not_found"
        assert a[0] == "rejected" and a[1] == expected_code, (k, a)
    for owner, allowed in REACH[actor_name].items():
        for kind, (name, args) in attempts(actor, cases[owner]).items():
            result = actor.push_one(name, **args)
            if allowed:
                assert result["reason_code"] not in ("not_found", "forbidden"), (
                    owner,
                    kind,
                    result,
                )
            else:
                # identical to the unknown id: no existence leak
                assert answer(result) == unknown[kind], (owner, kind, result)


def test_admin_devices_may_push_their_audit_trail(team_world: ServerWorld) -> None:
    root = team_world.devices["root"]  # type: ignore[attr-defined]
    assert root.push_one("audit.append", events=root.audit_events(2))["status"] == "applied"
    assert root.push_one("case.create", **case_args(root))["reason_code"] == "forbidden"


EXPECTED_CASES = {
    "anna": {"anna"},
    "alva": {"alva"},
    "lena": {"anna", "alva"},
    "bert": {"bert"},
    "berit": {"bert"},
    "root": set(),
}
TEAM_OF = {
    "anna": "Team A",
    "alva": "Team A",
    "lena": "Team A",
    "bert": "Team B",
    "berit": "Team B",
}


@pytest.mark.parametrize("reader", list(EXPECTED_CASES))
def test_pull_and_integrity_matrix(
    team_world: ServerWorld, cases: dict[str, dict[str, Any]], reader: str
) -> None:
    dev = team_world.devices[reader]  # type: ignore[attr-defined]
    changes, _ = dev.pull_all()
    expected = {cases[o]["case_id"] for o in EXPECTED_CASES[reader]}
    seen_cases = {c["case_id"] for c in changes if c["case_id"]}
    assert seen_cases == expected
    persons = {c["record_id"] for c in changes if c["record_type"] == "person"}
    assert persons == {cases[o]["person_id"] for o in EXPECTED_CASES[reader]}
    users = {c["data"]["username"] for c in changes if c["record_type"] == "user"}
    if reader == "root":
        assert users == {"anna", "alva", "lena", "bert", "berit", "root"}
        assert not [c for c in changes if c["record_type"] not in ("user", "document")]
    else:
        assert users == {u for u, t in TEAM_OF.items() if t == TEAM_OF[reader]}
    counts = dev.integrity()
    assert counts["case"]["count"] == len(expected)
    assert counts["note"]["count"] == len(expected)
    assert counts["person"]["count"] == len(expected)
    assert counts["user"]["count"] == len(users)


@pytest.mark.parametrize("role", ["worker", "team_lead", "admin"])
def test_identity_endpoints_per_role(world: ServerWorld, role: str) -> None:
    team = world.team("T") if role != "admin" else None
    dev = world.device("someone", role, team)
    other = world.device("other", "worker", world.team("U"))
    assert world.client.get("/v1/health").status_code == 200
    mine = world.client.post(
        "/v1/auth/token", json={"device_id": dev.device_id, "device_secret": dev.secret}
    )
    assert mine.status_code == 200 and mine.json()["user"]["role"] == role
    theirs = world.client.post(
        "/v1/auth/token", json={"device_id": other.device_id, "device_secret": dev.secret}
    )
    assert theirs.status_code == 401
    assert dev.pull().status_code == 200
    assert world.client.get("/v1/sync/integrity", headers=dev.headers).status_code == 200
