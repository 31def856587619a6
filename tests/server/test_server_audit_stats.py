"""Acceptance audit of `fieldkit-server stats`: a suppressed cell must stay unknown.

Every case is counted once by case type, once by team and once by concern level, so each of
those dimensions adds up to the number of cases. Hiding only the cells under the threshold
then hides nothing when a dimension has one of them: the number of cases (any dimension shown
in full) minus the shown cells gives it back."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from server_helpers import ServerWorld, case_args

from fieldkit.domain.enums import CaseType
from fieldkit.server.cli import main

PARTITIONS = ("case_type", "team", "concern_level")


def stats(capsys: pytest.CaptureFixture[str], db_url: str, min_count: int) -> list[dict[str, Any]]:
    code = main(["stats", "--min-count", str(min_count), "--format", "json", "--db", db_url])
    out, _ = capsys.readouterr()
    assert code == 0
    cells: list[dict[str, Any]] = json.loads(out)["cells"]
    return cells


def recoverable(cells: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """What an outsider can work out from the published table: the number of cases from a
    dimension shown in full, and from it any dimension's one hidden cell."""
    by_dim: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        by_dim[c["dimension"]].append(c)
    totals = {
        sum(c["count"] for c in by_dim[d])
        for d in PARTITIONS
        if by_dim[d] and not any(c["suppressed"] for c in by_dim[d])
    }
    found = {}
    for total in totals:
        for d in PARTITIONS:
            hidden = [c for c in by_dim[d] if c["suppressed"]]
            if len(hidden) == 1:
                shown = sum(c["count"] for c in by_dim[d] if not c["suppressed"])
                found[(d, hidden[0]["value"])] = total - shown
    return found


def test_a_suppressed_cell_cannot_be_recovered_by_subtraction(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.team("Fältgruppen Syd"), world.team("Fältgruppen Norr")
    anna = world.device("anna", "worker", a)
    bert = world.device("bert", "worker", b)
    # Syd: 7 cases at risk and 2 of exit support; Norr: 6 at risk
    for dev, kind, n in (
        (anna, CaseType.INDIVIDUAL_AT_RISK, 7),
        (anna, CaseType.EXIT_SUPPORT, 2),
        (bert, CaseType.INDIVIDUAL_AT_RISK, 6),
    ):
        for _ in range(n):
            assert dev.push_one("case.create", **case_args(dev, case_type=kind))["status"] == (
                "applied"
            )
    cells = stats(capsys, world.db_url, 5)
    by_key = {(c["dimension"], c["value"]): c for c in cells}
    # the small cell is suppressed...
    assert by_key[("case_type", "exit_support")]["suppressed"] is True
    # ...and cannot be worked out: 15 cases (team or concern level) - 13 at risk = 2
    assert recoverable(cells) == {}
    for c in cells:
        assert (c["count"] is None) == c["suppressed"]
        if not c["suppressed"]:
            assert c["count"] >= 5
    # the teams (9 and 6) and the concern level (15 without an approved assessment) stay
    assert by_key[("team", "Fältgruppen Syd")]["count"] == 9
    assert by_key[("team", "Fältgruppen Norr")]["count"] == 6
    assert by_key[("concern_level", "none")]["count"] == 15


def test_nothing_more_is_hidden_than_needed(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    a = world.team("T")
    anna = world.device("anna", "worker", a)
    for kind, n in (
        (CaseType.INDIVIDUAL_AT_RISK, 6),
        (CaseType.EXIT_SUPPORT, 5),
        (CaseType.RELATIVE_SUPPORT, 2),
        (CaseType.CONSULTATION, 3),
    ):
        for _ in range(n):
            anna.push_one("case.create", **case_args(anna, case_type=kind))
    by_key = {(c["dimension"], c["value"]): c for c in stats(capsys, world.db_url, 5)}
    # two small cells hide each other (2 + 3 = 5): the others are shown
    assert by_key[("case_type", "relative_support")]["suppressed"] is True
    assert by_key[("case_type", "consultation")]["suppressed"] is True
    assert by_key[("case_type", "individual_at_risk")]["count"] == 6
    assert by_key[("case_type", "exit_support")]["count"] == 5
    assert by_key[("team", "T")]["count"] == 16
