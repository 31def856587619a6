"""The ``fieldkit`` command as a user or a script runs it: a real process, a real vault, the
real keyring. Exit codes and messages are part of the interface."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fieldkit.domain.enums import Role
from fieldkit.errors import ExitCode
from fieldkit.security import SecurityPolicy
from fieldkit.services.profile import Identity, create_profile

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def cli_env(tmp_path: Path, passphrase: str | None = PASS, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FIELDKIT_PASSPHRASE", None)
    env.pop("FIELDKIT_DATA_DIR", None)
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env.update(
        TMPDIR=str(tmp),
        FIELDKIT_LANG="en",
        FIELDKIT_CONFIG_DIR=str(tmp_path / "config"),
        FIELDKIT_POLICY_ROOT=str(tmp_path / "policy"),
        FIELDKIT_LOG_DIR=str(tmp_path / "logs"),
        PYTHONUNBUFFERED="1",
    )
    if passphrase is not None:
        env["FIELDKIT_PASSPHRASE"] = passphrase
    env.update(extra)
    return env


def run(
    env: dict[str, str], *args: str, data_dir: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    prefix = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", *prefix, *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr


@pytest.fixture
def fast_profile(real_keyring: str, data_dir: Path) -> Path:
    """A profile with a cheap key derivation (the parameters live in the key slot file, so the
    CLI unlocks it quickly); the CLI's own ``init`` is exercised with the real calibration in
    ``test_init_and_a_working_day``."""
    session = create_profile(
        data_dir,
        PASS,
        Identity.local("anna", "Anna Fältassistent", Role.WORKER, "Söder"),
        SecurityPolicy(argon2_target_seconds=0.01),
    )
    session.lock()
    return data_dir


def test_init_and_a_working_day(real_keyring: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, passphrase=None)
    profile = tmp_path / "profile"
    secret = tmp_path / "secret.txt"
    secret.write_text(PASS + "\n", encoding="utf-8")
    pf = ["--passphrase-file", str(secret)]

    result = run(
        env,
        *pf,
        "init",
        "--user",
        "lisa",
        "--display-name",
        "Lisa Lead",
        "--role",
        "team_lead",
        "--team",
        "Norr",
        data_dir=profile,
    )
    assert result.returncode == 0, result.stderr
    assert "Profile created" in result.stdout
    assert sorted(p.name for p in profile.iterdir()) == [
        "keyslots.json",
        "profile.json",
        "vault.db",
    ]

    result = run(
        env,
        *pf,
        "case",
        "add",
        "--type",
        "exit_support",
        "--name",
        "Kim Exempel",
        "--personnummer",
        "8803200016",
        "--address",
        "Storgatan 1",
        data_dir=profile,
    )
    assert result.returncode == 0, result.stderr
    case_id = result.stdout.strip()
    assert UUID.match(case_id), result.stdout

    result = run(
        env,
        *pf,
        "note",
        "add",
        case_id,
        "--text",
        "Träffade Kim på fritidsgården",
        "--sign",
        "--place",
        "Fritidsgården",
        data_dir=profile,
    )
    assert result.returncode == 0, result.stderr
    note_id = result.stdout.strip()
    assert UUID.match(note_id)

    result = run(
        env, *pf, "note", "correct", note_id, "--text", "Rättelse: i skolan", data_dir=profile
    )
    assert result.returncode == 0, result.stderr
    correction_id = result.stdout.strip()

    result = run(env, *pf, "note", "sign", correction_id, data_dir=profile)
    assert result.returncode == 0, result.stderr

    result = run(env, *pf, "--json", "note", "list", case_id, data_dir=profile)
    notes = json.loads(result.stdout)
    assert [(n["id"], n["state"], n["link_to"]) for n in notes] == [
        (note_id, "signed", None),
        (correction_id, "signed", note_id),
    ]

    result = run(env, *pf, "--json", "case", "show", case_id, data_dir=profile)
    shown = json.loads(result.stdout)
    assert shown["person"]["personnummer"] == "19880320-0016"
    assert shown["person"]["has_address"] is True
    assert "Storgatan" not in result.stdout
    result = run(env, *pf, "case", "show", case_id, "--unmask", data_dir=profile)
    assert "Storgatan 1" in result.stdout

    result = run(env, *pf, "--json", "search", "fritidsgården", data_dir=profile)
    assert result.returncode == 0, result.stderr
    assert note_id in {hit["record_id"] for hit in json.loads(result.stdout)}

    result = run(env, *pf, "case", "list", data_dir=profile)
    assert case_id in result.stdout and "Kim Exempel" in result.stdout

    result = run(env, *pf, "audit", "verify", data_dir=profile)
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout

    result = run(env, *pf, "--json", "audit", "list", data_dir=profile)
    actions = [e["action"] for e in json.loads(result.stdout)]
    for wanted in ("login", "unlock", "case.create", "sign", "case.read", "unmask", "search"):
        assert wanted in actions

    result = run(env, "--json", "lock-status", data_dir=profile)
    status = json.loads(result.stdout)
    assert status["failed_attempts"] == 0 and status["locked_out"] is False
    assert "SecretService" in status["keyring_backend"]


def test_options_after_the_subcommand(fast_profile: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    result = run(env, "case", "list", "--json", "--data-dir", str(fast_profile))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_wrong_passphrase(fast_profile: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path, passphrase="helt fel lösenfras igen")
    result = run(env, "case", "list", data_dir=fast_profile)
    assert result.returncode == ExitCode.AUTH
    assert "passphrase is wrong" in result.stderr
    no_traceback(result)
    status = json.loads(run(env, "--json", "lock-status", data_dir=fast_profile).stdout)
    assert status["failed_attempts"] == 1


def test_no_profile_names_the_remedy(real_keyring: str, tmp_path: Path) -> None:
    result = run(cli_env(tmp_path), "case", "list", data_dir=tmp_path / "empty")
    assert result.returncode == ExitCode.NOT_FOUND
    assert "fieldkit init" in result.stderr
    no_traceback(result)


def test_init_twice_is_refused(fast_profile: Path, tmp_path: Path) -> None:
    result = run(cli_env(tmp_path), "init", data_dir=fast_profile)
    assert result.returncode == ExitCode.REFUSED
    assert "already exists" in result.stderr


def test_weak_passphrase_at_init(real_keyring: str, tmp_path: Path) -> None:
    result = run(cli_env(tmp_path, passphrase="kort"), "init", data_dir=tmp_path / "p")
    assert result.returncode == ExitCode.USAGE
    assert "too short" in result.stderr
    assert not (tmp_path / "p" / "profile.json").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["case", "add", "--name", "X"], "--type"),
        (["case", "add", "--type", "nonsense", "--name", "X"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["note", "add"], "case_id"),
    ],
)
def test_usage_errors_exit_2(
    fast_profile: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = run(cli_env(tmp_path), *args, data_dir=fast_profile)
    assert result.returncode == ExitCode.USAGE
    assert needle in result.stderr
    no_traceback(result)


def test_invalid_personnummer(fast_profile: Path, tmp_path: Path) -> None:
    result = run(
        cli_env(tmp_path),
        "case",
        "add",
        "--type",
        "exit_support",
        "--name",
        "X Y",
        "--personnummer",
        "880320-0017",
        data_dir=fast_profile,
    )
    assert result.returncode == ExitCode.USAGE
    assert "check digit" in result.stderr


def test_json_errors(fast_profile: Path, tmp_path: Path) -> None:
    result = run(
        cli_env(tmp_path),
        "--json",
        "case",
        "show",
        "0190a0b0-0000-7000-8000-000000000000",
        data_dir=fast_profile,
    )
    assert result.returncode == ExitCode.NOT_FOUND
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "not_found"
    assert "fieldkit case list" in error["message"]


def test_no_passphrase_and_no_terminal(fast_profile: Path, tmp_path: Path) -> None:
    result = run(
        cli_env(tmp_path, passphrase=None), "case", "list", data_dir=fast_profile, stdin=""
    )
    assert result.returncode == ExitCode.USAGE
    assert "--passphrase-file" in result.stderr and "FIELDKIT_PASSPHRASE" in result.stderr


def test_unreadable_passphrase_file(fast_profile: Path, tmp_path: Path) -> None:
    result = run(
        cli_env(tmp_path, passphrase=None),
        "--passphrase-file",
        str(tmp_path / "missing"),
        "case",
        "list",
        data_dir=fast_profile,
    )
    assert result.returncode == ExitCode.USAGE
    assert "cannot be read" in result.stderr


def test_unexpected_os_error_is_a_sentence_not_a_traceback(
    real_keyring: str, tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run(cli_env(tmp_path), "case", "list", data_dir=not_a_dir)
    assert result.returncode == ExitCode.FAILURE
    assert result.stderr.startswith("fieldkit: A file could not be read or written")
    no_traceback(result)
    # with -v the debug log carries the frames (messages redacted); the user still gets the
    # sentence as the last line
    result = run(cli_env(tmp_path), "-v", "case", "list", data_dir=not_a_dir)
    assert result.returncode == ExitCode.FAILURE
    assert result.stderr.strip().splitlines()[-1].startswith("fieldkit: A file could not")


def test_passwd(fast_profile: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.txt"
    new.write_text("en ny och lång lösenfras\n", encoding="utf-8")
    env = cli_env(tmp_path)
    result = run(env, "passwd", "--new-passphrase-file", str(new), data_dir=fast_profile)
    assert result.returncode == 0, result.stderr
    assert run(env, "case", "list", data_dir=fast_profile).returncode == ExitCode.AUTH
    env = cli_env(tmp_path, passphrase="en ny och lång lösenfras")
    assert run(env, "case", "list", data_dir=fast_profile).returncode == 0


def test_note_rules_through_the_cli(fast_profile: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    case_id = run(
        env, "case", "add", "--type", "consultation", "--name", "Regel Test", data_dir=fast_profile
    ).stdout.strip()
    draft = run(env, "note", "add", case_id, "--text", "Utkast", data_dir=fast_profile)
    draft_id = draft.stdout.strip()
    result = run(
        env, "note", "supplement", draft_id, "--text", "Till ett utkast", data_dir=fast_profile
    )
    assert result.returncode == ExitCode.REFUSED
    assert "Only a signed entry" in result.stderr
    assert (
        run(env, "note", "edit", draft_id, "--text", "Nytt", data_dir=fast_profile).returncode == 0
    )
    assert run(env, "note", "sign", draft_id, data_dir=fast_profile).returncode == 0
    result = run(env, "note", "edit", draft_id, "--text", "Efteråt", data_dir=fast_profile)
    assert result.returncode == ExitCode.REFUSED
    assert "cannot be changed" in result.stderr
    result = run(
        env, "note", "own-view", draft_id, "--text", "Min syn", "--sign", data_dir=fast_profile
    )
    assert result.returncode == 0, result.stderr


def test_swedish_messages(real_keyring: str, tmp_path: Path) -> None:
    result = run(cli_env(tmp_path), "--lang", "sv", "case", "list", data_dir=tmp_path / "tom")
    assert result.returncode == ExitCode.NOT_FOUND
    assert "Det finns ingen fieldkit-profil" in result.stderr
    assert "fieldkit init" in result.stderr


def test_rotate_key(fast_profile: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    case_id = run(
        env, "case", "add", "--type", "exit_support", "--name", "Nyckel Byte", data_dir=fast_profile
    ).stdout.strip()
    before = (fast_profile / "vault.db").read_bytes()
    result = run(env, "rotate-key", data_dir=fast_profile)
    assert result.returncode == 0, result.stderr
    assert (fast_profile / "vault.db").read_bytes() != before
    result = run(env, "--json", "case", "list", data_dir=fast_profile)
    assert [c["case_id"] for c in json.loads(result.stdout)] == [case_id]
    events = json.loads(run(env, "--json", "audit", "list", data_dir=fast_profile).stdout)
    assert any(e["action"] == "key.change" and e["details"] == {"kind": "data_key"} for e in events)


def _on_terminal(env: dict[str, str], args: list[str], answers: list[tuple[str, str]]
                 ) -> tuple[int, str]:  # fmt: skip
    """Run the command on a pseudo-terminal (its controlling terminal), answering prompts."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command
        try:
            os.execvpe(sys.executable, [sys.executable, "-m", "fieldkit", *args], env)  # noqa: S606
        finally:
            os._exit(127)
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if pending and pending[0][0].encode() in seen.split(b"\n")[-1]:
            os.write(fd, pending.pop(0)[1].encode() + b"\n")
            seen += b"\n"
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


def test_interactive_passphrase_is_asked_twice_and_never_echoed(
    real_keyring: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, passphrase=None)
    profile = str(tmp_path / "profile")
    code, screen = _on_terminal(
        env,
        ["--data-dir", profile, "init", "--user", "anna"],
        [("New passphrase:", PASS), ("Repeat the new passphrase:", "något helt annat här")],
    )
    assert code == ExitCode.USAGE
    assert "differ" in screen
    assert not (tmp_path / "profile" / "profile.json").exists()
    code, screen = _on_terminal(
        env,
        ["--data-dir", profile, "init", "--user", "anna"],
        [("New passphrase:", PASS), ("Repeat the new passphrase:", PASS)],
    )
    assert code == 0, screen
    assert "Profile created" in screen
    assert PASS not in screen and "häftklammer" not in screen  # never echoed
    code, screen = _on_terminal(
        env, ["--data-dir", profile, "case", "list"], [("Passphrase:", PASS)]
    )
    assert code == 0, screen
    assert "No cases." in screen and PASS not in screen


def _managed_policy(tmp_path: Path, **values: object) -> None:
    managed = tmp_path / "policy" / "policies" / "managed"
    managed.mkdir(parents=True, exist_ok=True)
    (managed / "lockout.json").write_text(json.dumps(values), encoding="utf-8")


def test_lockout_by_policy(fast_profile: Path, tmp_path: Path) -> None:
    _managed_policy(tmp_path, lockout_limit=3)
    wrong = cli_env(tmp_path, passphrase="helt fel lösenfras igen")
    for _ in range(2):
        assert run(wrong, "case", "list", data_dir=fast_profile).returncode == ExitCode.AUTH
    result = run(wrong, "case", "list", data_dir=fast_profile)
    assert result.returncode == ExitCode.AUTH
    assert "locked" in result.stderr and "IT support" in result.stderr
    result = run(cli_env(tmp_path), "case", "list", data_dir=fast_profile)  # right, too late
    assert result.returncode == ExitCode.AUTH
    assert "locked" in result.stderr
    status = json.loads(run(wrong, "--json", "lock-status", data_dir=fast_profile).stdout)
    assert status["locked_out"] is True
    assert (fast_profile / "vault.db").exists()


def test_lockout_with_wipe_by_policy(fast_profile: Path, tmp_path: Path) -> None:
    _managed_policy(tmp_path, lockout_limit=3, wipe_on_lockout=True)
    wrong = cli_env(tmp_path, passphrase="helt fel lösenfras igen")
    for _ in range(2):
        assert run(wrong, "case", "list", data_dir=fast_profile).returncode == ExitCode.AUTH
    result = run(wrong, "case", "list", data_dir=fast_profile)
    assert result.returncode == ExitCode.AUTH
    assert "has been wiped" in result.stderr
    assert list(fast_profile.iterdir()) == []
