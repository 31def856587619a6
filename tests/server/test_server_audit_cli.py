"""Acceptance audit of the admin command: how an administrator actually types it, and what a
mistake answers. Every wrong usage is one clear sentence with what to do and its exit code,
never a traceback, and never a command run against another database than the one named."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_helpers import ServerWorld, free_port, migrate_url

from fieldkit.errors import ExitCode
from fieldkit.server.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def default_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """FIELDKIT_SERVER_DB pointing at another, migrated database: a command that ignores the
    --db it was given would quietly work there instead."""
    url = f"sqlite:///{tmp_path / 'the-default.db'}"
    migrate_url(url)
    monkeypatch.setenv("FIELDKIT_SERVER_DB", url)
    return url


def test_db_and_json_given_before_the_subcommand_are_used(
    db_url: str, default_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--db", db_url, "team", "add", "Fältgruppen Syd")[0] == ExitCode.OK
    code, out, _ = run(capsys, "--json", "--db", db_url, "team", "list")
    assert code == ExitCode.OK
    assert [t["name"] for t in json.loads(out)] == ["Fältgruppen Syd"]
    code, out, _ = run(capsys, "--db", db_url, "team", "list", "--json")
    assert [t["name"] for t in json.loads(out)] == ["Fältgruppen Syd"]
    # and nothing reached the default database
    code, out, _ = run(capsys, "team", "list", "--json")
    assert code == ExitCode.OK and json.loads(out) == []


def test_enroll_code_ttl_that_is_not_a_number_of_hours(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "team", "add", "T", "--db", db_url)
    run(capsys, "user", "add", "anna", "--team", "T", "--role", "worker", "--db", db_url)
    for ttl in ("nan", "inf", "-inf", "0", "721"):
        code, out, err = run(capsys, "enroll-code", "anna", f"--ttl={ttl}", "--db", db_url)
        assert code == ExitCode.USAGE and "--ttl" in err and out == "", ttl


def test_docs_publish_of_what_is_not_a_readable_file(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "docs", "publish", str(tmp_path), "--title", "X", "--db", db_url)
    assert code == ExitCode.USAGE and "cannot be read" in err
    missing = str(tmp_path / "nope.md")
    code, _, err = run(capsys, "docs", "publish", missing, "--title", "X", "--db", db_url)
    assert code == ExitCode.NOT_FOUND and "does not exist" in err
    code, out, _ = run(capsys, "docs", "list", "--db", db_url, "--json")
    assert json.loads(out) == []


def test_docs_publish_slug_is_a_slug(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "rutin.md"
    doc.write_text("# Rutin\n\nRing socialjouren.\n", encoding="utf-8")
    for slug in ("../../etc", "Rutin Polisen", "", "a" * 81, "rad\nbrytning"):
        code, _, err = run(
            capsys, "docs", "publish", str(doc), "--title", "R", "--slug", slug, "--db", db_url
        )
        assert code == ExitCode.USAGE and "--slug" in err, slug
    code, out, _ = run(
        capsys, "docs", "publish", str(doc), "--title", "R", "--slug", "samverkan-polis", "--json",
        "--db", db_url,
    )  # fmt: skip
    assert code == ExitCode.OK and json.loads(out)["slug"] == "samverkan-polis"


def test_stats_json_flag_gives_json(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", "--json", "--db", db_url)
    assert code == ExitCode.OK and json.loads(out) == {"min_count": 5, "cells": []}


def test_a_database_path_that_cannot_be_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker / 'server.db'}"
    code, _, err = run(capsys, "init-db", "--db", url)
    assert code == ExitCode.CONFIG and "cannot be created" in err
    # only init-db creates a database: the others say there is none
    for argv in (["team", "list"], ["serve", "--port", str(free_port())]):
        code, _, err = run(capsys, *argv, "--db", url)
        assert code == ExitCode.CONFIG and "does not exist" in err, argv


def test_init_db_on_an_unreachable_postgresql(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _, _ = pg_url.rpartition("@")
    url = f"{base}@127.0.0.1:{free_port()}/nowhere"
    code, _, err = run(capsys, "init-db", "--db", url)
    assert code == ExitCode.CONFIG and "database server is running" in err


def test_serve_port_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # uvicorn would silently listen on 99999 % 65536 = 34463
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate_url(url)
    for port in ("99999", "0", "-5", "http"):
        with pytest.raises(SystemExit) as stop:
            main(["serve", "--port", port, "--db", url])
        assert stop.value.code == ExitCode.USAGE
        assert "port number" in capsys.readouterr().err


# --- TLS: a throwaway certificate made at run time (never committed) ---------------------


def write_cert(directory: Path, name: str, passphrase: bytes | None = None) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return cert_path, key_path


def test_serve_refuses_a_certificate_it_could_not_start_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate_url(url)
    cert, key = write_cert(tmp_path, "good")
    _, other_key = write_cert(tmp_path, "other")
    locked_cert, locked_key = write_cert(tmp_path, "locked", passphrase=b"hemligt")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    port = str(free_port())
    for pem, pem_key, words in (
        (cert, other_key, "cannot be used"),  # a key that is not the certificate's
        (garbage, garbage, "cannot be used"),
        (key, cert, "cannot be used"),  # swapped
        (tmp_path / "missing.pem", key, "cannot be read"),
        (locked_cert, locked_key, "passphrase"),  # and no prompt on the terminal
    ):
        code, _, err = run(
            capsys, "serve", "--port", port, "--cert", str(pem), "--key", str(pem_key),
            "--db", url,
        )  # fmt: skip
        assert code == ExitCode.USAGE and words in err, (pem.name, pem_key.name, err)


def test_serve_with_cert_and_key_answers_over_tls(tmp_path: Path) -> None:
    """`serve --cert --key` as docs/server.md gives it: a real server process on loopback,
    reached over TLS with the certificate as the only trusted one."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate_url(url)
    cert, key = write_cert(tmp_path, "server")
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit.server.cli", "serve", "--port", str(port),
         "--cert", str(cert), "--key", str(key), "--db", url],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        context = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"https://localhost:{port}/v1/health", verify=context, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served on that port
            httpx.get(f"http://localhost:{port}/v1/health", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_names_the_database_would_refuse_are_clear_errors(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    long = "x" * 201
    code, _, err = run(capsys, "team", "add", long, "--db", db_url)
    assert code == ExitCode.USAGE and "at most 200" in err  # PostgreSQL: a traceback before
    code, _, err = run(capsys, "team", "add", "Fält\x1b[31mgruppen", "--db", db_url)
    assert code == ExitCode.USAGE and "control characters" in err
    code, _, err = run(capsys, "team", "add", "Fält\udcffgruppen", "--db", db_url)  # not UTF-8
    assert code == ExitCode.USAGE and "UTF-8" in err
    assert run(capsys, "team", "add", "T", "--db", db_url)[0] == ExitCode.OK
    code, _, err = run(
        capsys, "user", "add", "anna", "--team", "T", "--role", "worker",
        "--display-name", long, "--db", db_url,
    )  # fmt: skip
    assert code == ExitCode.USAGE and "--display-name" in err
    code, _, err = run(
        capsys, "user", "add", "an\x01na", "--team", "T", "--role", "worker", "--db", db_url
    )
    assert code == ExitCode.USAGE and "control characters" in err
    code, _, err = run(capsys, "enroll-code", "an\udcffna", "--db", db_url)
    assert code == ExitCode.USAGE and "UTF-8" in err
    code, out, _ = run(capsys, "team", "list", "--json", "--db", db_url)
    assert [t["name"] for t in json.loads(out)] == ["T"]
    code, out, _ = run(capsys, "user", "list", "--json", "--db", db_url)
    assert json.loads(out) == []


def test_device_list_does_not_print_a_devices_escape_sequences(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """The device's name and platform come from whoever enrolled it; printed raw, an escape
    sequence would clear or rewrite the administrator's terminal (which device to revoke)."""
    team = world.team("T")
    world.user("anna", "worker", team)
    code = world.enroll_code("anna")
    evil = "anna-laptop\x1b[2J\x1b[1A\rroot-laptop\x07"
    r = world.client.post(
        "/v1/enroll", json={"code": code, "device_name": evil, "platform": "linux\x1b]0;x\x07"}
    )
    assert r.status_code == 200
    code_, out, _ = run(capsys, "device", "list", "--db", world.db_url)
    assert code_ == ExitCode.OK
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "anna-laptop\\x1b[2J" in out
    code_, out, _ = run(capsys, "device", "list", "--json", "--db", world.db_url)
    assert json.loads(out)[0]["name"] == evil  # the data itself is kept as sent


def test_init_db_on_a_database_of_a_newer_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate_url(url)
    with sqlite3.connect(tmp_path / "server.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    code, _, err = run(capsys, "init-db", "--db", url)
    # not "check the URL, that the database server is running, and the credentials"
    assert code == ExitCode.CONFIG and "newer than this fieldkit-server" in err


def test_output_into_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """`fieldkit-server user list --json | head -1` and the like: the reader goes away."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate_url(url)
    for i in range(3):
        assert main(["team", "add", f"Team {i}", "--db", url]) == ExitCode.OK
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit.server.cli", "team", "list", "--json", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command has written anything
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
