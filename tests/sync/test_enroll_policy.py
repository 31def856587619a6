"""The server address from managed policy (fieldkit.config): used when IT manages it, and a
different --server is refused; http on loopback only when policy or the flag allows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_harness import LiveServer, ServerDB, cli

from fieldkit.errors import ExitCode, InvalidInput
from fieldkit.services.sync import ServerManaged, ServerSettings, choose_server_url

pytestmark = pytest.mark.keyring


def test_choose_server_url() -> None:
    managed = ServerSettings(
        url="https://fk.kommun.se", allow_http_loopback=False, url_managed=True
    )
    assert choose_server_url(None, managed) == "https://fk.kommun.se"
    assert choose_server_url("https://fk.kommun.se/", managed) == "https://fk.kommun.se"
    with pytest.raises(ServerManaged):
        choose_server_url("https://elsewhere.example", managed)
    suggested = ServerSettings(
        url="https://fk.kommun.se", allow_http_loopback=False, url_managed=False
    )
    assert choose_server_url("https://other.se", suggested) == "https://other.se"
    assert choose_server_url(None, suggested) == "https://fk.kommun.se"
    with pytest.raises(InvalidInput):
        choose_server_url(None, ServerSettings(None, False, False))


def write_policy(root: Path, data: dict[str, object]) -> None:
    folder = root / "policies" / "managed"
    folder.mkdir(parents=True)
    (folder / "fieldkit.json").write_text(json.dumps(data), encoding="utf-8")


def test_enrolment_uses_the_managed_server_address(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    db = sqlite_server_db
    team_id = db.team("Centrum")
    db.user("fia", team_id)
    server = LiveServer(db.url).start()
    root = tmp_path / "policy"
    write_policy(root, {"server_url": server.url, "allow_http_loopback": True})
    env = {"FIELDKIT_POLICY_ROOT": str(root), "FIELDKIT_CONFIG_DIR": str(tmp_path / "config")}
    try:
        refused = cli(
            tmp_path / "p1",
            "enroll",
            "--server",
            "https://elsewhere.example",
            "--code",
            db.code("fia"),
            env=env,
        )
        assert refused.returncode == ExitCode.USAGE
        assert "set by your organisation's policy" in refused.stderr
        assert not (tmp_path / "p1" / "profile.json").exists()

        enrolled = cli(tmp_path / "p2", "--json", "enroll", "--code", db.code("fia"), env=env)
        assert enrolled.returncode == 0, enrolled.stderr
        data = json.loads(enrolled.stdout)
        assert data["server_url"] == server.url and data["user"] == "fia"
        synced = cli(tmp_path / "p2", "sync", env=env)
        assert synced.returncode == 0, synced.stderr
    finally:
        server.stop()
