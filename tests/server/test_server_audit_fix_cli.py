"""Acceptance audit of #5: what the admin command says about a newer or missing database,
what a not-found names as the next step, and deactivating a user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server_helpers import ServerWorld
from sqlalchemy import create_engine, text

from fieldkit.errors import ExitCode
from fieldkit.i18n import set_language
from fieldkit.server.cli import main


@pytest.fixture(autouse=True)
def english() -> object:
    yield
    set_language("en")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_a_database_a_newer_server_migrated_says_to_run_that_version(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    engine.dispose()
    code, _, err = run(capsys, "device", "list", "--db", db_url)
    assert code == ExitCode.CONFIG
    assert "newer than this fieldkit-server knows" in err
    assert "Run the fieldkit-server version that migrated it" in err
    assert "init-db" not in err  # this server's init-db cannot take it back
    code, _, err = run(capsys, "--lang", "sv", "serve", "--db", db_url)
    assert code == ExitCode.CONFIG
    assert "nyare än vad den här versionen av fieldkit-server känner till" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["device", "list"],
        ["user", "list", "--json"],
        ["team", "add", "T"],
        ["audit", "verify"],
        ["serve", "--port", "1"],
    ],
)
def test_a_mistyped_sqlite_path_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    missing = tmp_path / "typo" / "x.db"
    code, _, err = run(capsys, *argv, "--db", f"sqlite:///{missing}")
    assert code == ExitCode.CONFIG
    assert f"The database {missing} does not exist." in err
    assert "fieldkit-server init-db" in err
    assert not missing.parent.exists()
    # an existing folder: no empty database file left in it either
    missing = tmp_path / "x.db"
    assert run(capsys, *argv, "--db", f"sqlite:///{missing}")[0] == ExitCode.CONFIG
    assert not missing.exists()


def test_init_db_creates_the_database_and_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new" / "server.db"
    assert run(capsys, "init-db", "--db", f"sqlite:///{path}")[0] == ExitCode.OK
    assert path.is_file()
    code, out, _ = run(capsys, "user", "list", "--json", "--db", f"sqlite:///{path}")
    assert code == ExitCode.OK and json.loads(out) == []


def test_the_missing_database_in_swedish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "x.db"
    code, _, err = run(capsys, "--lang", "sv", "device", "list", "--db", f"sqlite:///{missing}")
    assert code == ExitCode.CONFIG
    assert f"Databasen {missing} finns inte." in err


def test_not_found_names_the_listing_command(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    url = world.db_url
    code, _, err = run(capsys, "enroll-code", "nobody", "--db", url)
    assert code == ExitCode.NOT_FOUND
    assert "No user named nobody." in err and "fieldkit-server user list" in err
    code, _, err = run(capsys, "user", "deactivate", "nobody", "--db", url)
    assert code == ExitCode.NOT_FOUND and "fieldkit-server user list" in err
    code, _, err = run(
        capsys, "device", "revoke", "0190f0f0-0000-7000-8000-000000000000", "--db", url
    )
    assert code == ExitCode.NOT_FOUND
    assert "No device with id" in err and "fieldkit-server device list" in err
    code, _, err = run(
        capsys,
        "--lang",
        "sv",
        "device",
        "revoke",
        "0190f0f0-0000-7000-8000-000000000000",
        "--db",
        url,
    )
    assert "fieldkit-server device list" in err and "Lista" in err


def test_deactivating_a_user_refuses_their_devices_at_the_next_request(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    bert = world.device("bert", "worker", team)
    url = world.db_url
    assert anna.pull().status_code == 200

    code, out, _ = run(capsys, "user", "deactivate", "anna", "--json", "--db", url)
    assert code == ExitCode.OK
    assert json.loads(out) == {
        "username": "anna",
        "id": anna.user_id,
        "active": False,
        "changed": True,
    }
    # the token anna already holds: refused at once, on both sync requests
    pulled = anna.pull()
    assert pulled.status_code == 401 and pulled.json()["error"]["code"] == "unauthorized"
    pushed = world.client.post("/v1/sync/push", json={"mutations": []}, headers=anna.headers)
    assert pushed.status_code == 401
    # and no new token, no new code
    token = world.client.post(
        "/v1/auth/token", json={"device_id": anna.device_id, "device_secret": anna.secret}
    )
    assert token.status_code == 401
    code, _, err = run(capsys, "enroll-code", "anna", "--db", url)
    assert code != ExitCode.OK and "deactivated" in err
    # the others sync on, and see anna as inactive in their directory
    assert bert.pull().status_code == 200
    code, out, _ = run(capsys, "user", "list", "--json", "--db", url)
    assert {u["username"]: u["active"] for u in json.loads(out)} == {"anna": False, "bert": True}
    # again: says so, changes nothing
    code, out, _ = run(capsys, "user", "deactivate", "anna", "--db", url)
    assert code == ExitCode.OK and "already deactivated" in out

    code, out, _ = run(capsys, "user", "activate", "anna", "--db", url)
    assert code == ExitCode.OK and "activated" in out
    anna.refresh_token()
    assert anna.pull().status_code == 200


def test_deactivation_reaches_the_team_through_the_feed(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    team = world.team("T")
    world.device("anna", "worker", team)
    lena = world.device("lena", "team_lead", team)
    _, cursor = lena.pull_all()
    assert run(capsys, "user", "deactivate", "anna", "--db", world.db_url)[0] == ExitCode.OK
    changes, _ = lena.pull_all(cursor)
    users = [c["data"] for c in changes if c.get("record_type") == "user"]
    assert [(u["username"], u["active"]) for u in users] == [("anna", False)]


def test_user_activate_and_deactivate_in_swedish(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.user("anna", "worker", world.team("T"))
    code, out, _ = run(capsys, "--lang", "sv", "user", "deactivate", "anna", "--db", world.db_url)
    assert code == ExitCode.OK and "inaktiverad" in out
    code, out, _ = run(capsys, "--lang", "sv", "user", "activate", "anna", "--db", world.db_url)
    assert code == ExitCode.OK and "aktiverad" in out and "igen" in out
