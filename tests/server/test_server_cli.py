"""The admin command ``fieldkit-server``, run in-process against both databases."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from server_helpers import ServerWorld, assessment_dict, case_args, intervention_dict
from sqlalchemy import update

from fieldkit import i18n
from fieldkit.domain.enums import ReviewOutcome
from fieldkit.errors import ExitCode
from fieldkit.server.cli import main
from fieldkit.server.models import AuditEventRow


def run(capsys: pytest.CaptureFixture[str], db: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", db])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_db_is_idempotent_and_commands_need_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, _, err = run(capsys, db, "team", "list")
    assert code == ExitCode.CONFIG and "init-db" in err and "Traceback" not in err
    assert run(capsys, db, "init-db")[0] == 0
    code, out, _ = run(capsys, db, "init-db", "--json")
    assert code == 0 and json.loads(out) == {"revision": "0001"}
    code, _, err = run(capsys, "mysql://nowhere/x", "team", "list")
    assert code == ExitCode.CONFIG and "PostgreSQL or SQLite" in err


def test_identity_commands(db_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(capsys, db_url, "team", "add", "Fältgruppen Syd")[0] == 0
    code, _, err = run(capsys, db_url, "team", "add", "Fältgruppen Syd")
    assert code == ExitCode.REFUSED and "already exists" in err
    code, out, _ = run(
        capsys,
        db_url,
        "user",
        "add",
        "anna",
        "--team",
        "Fältgruppen Syd",
        "--role",
        "worker",
        "--display-name",
        "Anna A",
        "--json",
    )
    assert code == 0 and json.loads(out)["role"] == "worker"
    code, _, err = run(capsys, db_url, "user", "add", "bo", "--team", "Nope", "--role", "worker")
    assert code == ExitCode.NOT_FOUND and "No team named Nope" in err
    code, _, err = run(capsys, db_url, "user", "add", "carl", "--role", "worker")
    assert code == ExitCode.USAGE
    code, out, _ = run(capsys, db_url, "enroll-code", "anna", "--ttl", "2", "--json")
    assert code == 0
    enrol = json.loads(out)
    assert len(enrol["code"]) == 11
    assert run(capsys, db_url, "enroll-code", "ghost")[0] == ExitCode.NOT_FOUND
    world = ServerWorld(db_url)
    try:
        r = world.client.post("/v1/enroll", json={"code": enrol["code"]})
        assert r.status_code == 200
        device_id = r.json()["device_id"]
    finally:
        world.close()
    code, out, _ = run(capsys, db_url, "device", "list", "--json")
    [device] = json.loads(out)
    assert device["id"] == device_id and device["revoked_at"] is None
    assert run(capsys, db_url, "device", "revoke", device_id)[0] == 0
    code, out, _ = run(capsys, db_url, "device", "list", "--json")
    assert json.loads(out)[0]["revoked_at"]
    assert run(capsys, db_url, "device", "revoke", "nope")[0] == ExitCode.NOT_FOUND
    code, out, _ = run(capsys, db_url, "user", "list")
    assert "anna" in out and "Anna A" in out


def test_audit_verify_reports_a_tampered_chain(world: ServerWorld, capsys) -> None:  # type: ignore[no-untyped-def]
    anna = world.device("anna", "worker", world.team("T"))
    anna.push_one("audit.append", events=anna.audit_events(3))
    code, out, _ = run(capsys, world.db_url, "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    with world.factory() as session, session.begin():
        session.execute(update(AuditEventRow).where(AuditEventRow.seq == 2).values(action="export"))
    code, out, _ = run(capsys, world.db_url, "audit", "verify", "--json")
    assert code == ExitCode.INTEGRITY
    [device] = json.loads(out)["devices"]
    assert device["problems"][0]["kind"] == "altered" and device["problems"][0]["position"] == 2
    code, out, _ = run(capsys, world.db_url, "audit", "verify")
    assert "BROKEN" in out


def test_stats_suppress_small_cells(world: ServerWorld, capsys) -> None:  # type: ignore[no-untyped-def]
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    lena = world.device("lena", "team_lead", team)
    for i in range(6):
        args = case_args(anna, case_type="exit_support" if i < 5 else "consultation")
        anna.push_one("case.create", **args)
        a = assessment_dict(anna, args["case"]["id"], submit=True, level="high")
        anna.push_one("assessment.submit", assessment=a)
        from server_helpers import review_dict

        lena.push_one("assessment.review", review=review_dict(lena, a, ReviewOutcome.APPROVE))
        anna.push_one(
            "intervention.record", intervention=intervention_dict(anna, args["case"]["id"])
        )
    code, out, _ = run(capsys, world.db_url, "stats", "--min-count", "5", "--format", "json")
    assert code == 0
    cells = {(c["dimension"], c["value"]): c for c in json.loads(out)["cells"]}
    # 6 cases - 5 of exit support would give the 1 consultation away: both are hidden
    assert cells[("case_type", "exit_support")]["suppressed"] is True
    assert cells[("case_type", "consultation")]["suppressed"] is True
    assert cells[("case_type", "consultation")]["count"] is None
    assert cells[("concern_level", "high")]["count"] == 6
    assert cells[("intervention", "exit")]["count"] == 6
    assert cells[("team", "T")]["count"] == 6
    code, out, _ = run(capsys, world.db_url, "stats", "--min-count", "5")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["dimension", "value", "count"]
    assert ["case_type", "consultation", "<5"] in rows
    assert "Testperson" not in out


def test_docs_publish_and_retention_run(world: ServerWorld, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "samverkan-polis.md"
    doc.write_text("# Samverkan med polisen\n\nKontakta ...", encoding="utf-8")
    code, out, _ = run(
        capsys,
        world.db_url,
        "docs",
        "publish",
        str(doc),
        "--title",
        "Samverkan med polisen",
        "--tags",
        "polis,rutin",
        "--json",
    )
    assert code == 0 and json.loads(out)["version"] == 1
    assert json.loads(out)["slug"] == "samverkan-polis"
    code, out, _ = run(capsys, world.db_url, "docs", "publish", str(doc), "--title", "Ny", "--json")
    assert json.loads(out)["version"] == 2
    assert (
        run(capsys, world.db_url, "docs", "publish", str(tmp_path / "none.md"), "--title", "x")[0]
        != 0
    )
    code, out, _ = run(capsys, world.db_url, "docs", "list", "--json")
    assert [d["version"] for d in json.loads(out)] == [2]
    code, out, _ = run(capsys, world.db_url, "retention", "run", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["counts"] == {"cull": 0, "archive": 0, "exempt": 0}
    code, out, _ = run(capsys, world.db_url, "retention", "run", "--today", "2099-01-01")
    assert code == 0 and "0 person files culled" in out
    assert run(capsys, world.db_url, "retention", "run", "--today", "someday")[0] == ExitCode.USAGE


def test_an_exempt_case_is_not_culled(world: ServerWorld, capsys) -> None:  # type: ignore[no-untyped-def]
    anna = world.device("anna", "worker", world.team("T"))
    args = case_args(anna, personnummer="19811218-9876")
    anna.push_one("case.create", **args)
    case_id = args["case"]["id"]
    assert run(capsys, world.db_url, "retention", "exempt", case_id)[0] == 0
    _code, out, _ = run(capsys, world.db_url, "retention", "run", "--today", "2099-01-01", "--json")
    assert json.loads(out)["counts"] == {"cull": 0, "archive": 0, "exempt": 1}
    assert anna.integrity()["case"]["count"] == 1
    assert run(capsys, world.db_url, "retention", "exempt", case_id, "--clear")[0] == 0
    _code, out, _ = run(capsys, world.db_url, "retention", "run", "--today", "2099-01-01", "--json")
    assert json.loads(out)["counts"]["cull"] == 1
    assert anna.integrity()["case"]["count"] == 0
    assert run(capsys, world.db_url, "retention", "exempt", case_id)[0] == ExitCode.NOT_FOUND


def test_messages_in_swedish(world: ServerWorld, capsys) -> None:  # type: ignore[no-untyped-def]
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    before = i18n.current_language()
    try:
        code = main(["--lang", "sv", "enroll-code", "ghost", "--db", world.db_url])
        _, err = capsys.readouterr()
        assert code == ExitCode.NOT_FOUND and err.strip() == (
            "Ingen användare heter ghost. Lista användarna med `fieldkit-server user list`."
        )
        main(["--lang", "sv", "team", "list", "--db", world.db_url])
        assert capsys.readouterr()[0].strip() == "(inga)"
    finally:
        i18n.set_language(before)


def test_every_server_message_has_a_swedish_translation() -> None:
    import ast

    from babel.messages.pofile import read_po

    src = Path(__file__).resolve().parents[2] / "src" / "fieldkit" / "server"
    po = Path(__file__).resolve().parents[2] / "resources" / "locale" / "sv" / "server.po"
    with po.open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh) if m.id}
    missing = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("N_", "_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ) and not catalogue.get(node.args[0].value):
                missing.append(node.args[0].value)
    assert not missing, missing
