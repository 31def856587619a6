"""Acceptance audit of `fieldkit-server retention run` against what a device can push.

The server accepts a journal entry whose event time is far in the future (9999-12-31), and a
case's last entry follows it; the retention rule adds five years to the last entry. That must
not stop the run for every other person file."""

from __future__ import annotations

import json

import pytest
from server_helpers import ServerWorld, case_args, note_dict

from fieldkit.errors import ExitCode
from fieldkit.server.cli import main


def test_a_far_future_entry_does_not_stop_the_retention_run(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    old = case_args(anna, person_name="Gammal akt")
    future = case_args(anna, person_name="Framtida")
    for args in (old, future):
        assert anna.push_one("case.create", **args)["status"] == "applied"
    far = note_dict(anna, future["case"]["id"], event_time="9999-12-31T23:59:59Z")
    assert anna.push_one("note.create", note=far)["status"] == "applied"

    code = main(["retention", "run", "--today", "2040-01-01", "--json", "--db", world.db_url])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert "Traceback" not in err
    actions = {p["person_id"]: p["action"] for p in json.loads(out)["persons"]}
    # the ordinary file is culled as due; the one with the far-future entry is never due
    assert actions == {old["person"]["id"]: "cull"}
    changes, _ = anna.pull_all()
    tombstoned = {c["record_id"] for c in changes if c["kind"] == "tombstone"}
    assert old["person"]["id"] in tombstoned and future["person"]["id"] not in tombstoned
