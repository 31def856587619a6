"""Acceptance audit of `fieldkit-server retention run` against what a device can push.

A case's last entry far in the future (9999-12-31: stored by a server before its latest-entry
update stopped at the time an entry arrives, see test_server_time_and_existence.py) plus the
retention rule's five years is past what a date holds. That must not stop the run for every
other person file."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from server_helpers import ServerWorld, case_args
from sqlalchemy import update

from fieldkit.errors import ExitCode
from fieldkit.server.cli import main
from fieldkit.server.models import CaseScope


def test_a_far_future_entry_does_not_stop_the_retention_run(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    old = case_args(anna, person_name="Gammal akt")
    future = case_args(anna, person_name="Framtida")
    for args in (old, future):
        assert anna.push_one("case.create", **args)["status"] == "applied"
    with world.factory() as session, session.begin():
        session.execute(
            update(CaseScope)
            .where(CaseScope.case_id == future["case"]["id"])
            .values(last_entry_at=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
        )

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
