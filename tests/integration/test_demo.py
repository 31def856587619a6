"""`make run` is the demo: a real server process, enrolment with one-time codes, a seeded
caseload written through the services, sync both ways and a team lead's review. This test runs
it without the window and checks what a person opening the app would see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldkit.cli.demo import PASSPHRASE
from fieldkit.domain.enums import AssessmentStatus
from fieldkit.services import assessments, cases, knowledge
from fieldkit.services.profile import open_session, wipe_profile

pytestmark = pytest.mark.keyring


def test_demo_sets_up_a_synced_team_with_a_review_round_trip(
    real_keyring: str, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "FIELDKIT_LANG": "en"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldkit",
            "--json",
            "demo",
            "--dir",
            str(demo),
            "--no-gui",
            "--fast-keys",
            "--cases",
            "6",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["passphrase"] == PASSPHRASE
    assert summary["cases"] == 6

    worker, lead = demo / "laptops" / "anna", demo / "laptops" / "lars"
    try:
        with open_session(worker, PASSPHRASE) as session:
            assert len(cases.list_cases(session)) == 6
            statuses = {
                a.status
                for c in cases.list_cases(session)
                for a in assessments.list_for_case(session, c.case_id)
            }
            # the team lead's return reached the worker through the server
            assert AssessmentStatus.RETURNED in statuses
            # everything the demo wrote reached the server; what is pending now is only the
            # audit trail of this very check (the unlock and the reads above)
            pending = session.vault.outbox.pending(limit=1000)
            assert {row.name for row in pending} <= {"audit.append"}
            titles = {d.title for d in knowledge.list_documents(session)}
            assert "Rutin: orosanmälan" in titles
        with open_session(lead, PASSPHRASE) as session:
            # the lead sees the worker's team caseload, with approved assessments
            assert len(cases.list_cases(session)) == 6
            approved = [
                a
                for c in cases.list_cases(session)
                for a in assessments.list_for_case(session, c.case_id)
                if a.status is AssessmentStatus.APPROVED
            ]
            assert approved
    finally:
        for folder in (worker, lead):
            wipe_profile(folder)
