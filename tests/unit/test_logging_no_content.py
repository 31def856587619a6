"""Logging never carries case content: a unique marker written through the public code paths
(the services, and the ``fieldkit`` command with ``-v``) with logging at DEBUG appears in no
log output: not in what the modules log, not in what the handlers write, not in a log file.

This needs the real vault and keyring (the code paths are the real ones), so it runs under
``tests/env/with-services.sh`` like the integration tests."""

from __future__ import annotations

import io
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.config.logs import configure_logging
from fieldkit.domain.enums import LinkKind
from fieldkit.errors import FieldkitError
from fieldkit.security import SecurityPolicy
from fieldkit.services import audit, cases, consents, interventions, notes, search
from fieldkit.services.profile import Identity, create_profile, open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)


def new_marker() -> str:
    return f"zqxlog{secrets.token_hex(8)}"


class Everything(logging.Handler):
    """Every record as its module made it (before any handler's filter): the message with its
    arguments, and the text of an attached exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[tuple[Everything, io.StringIO, Path]]:
    """DEBUG logging as the app configures it (stderr and a log file, with their guard) and a
    raw handler on the root logger."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    log_file = tmp_path / "logs" / "fieldkit.log"
    # First in line: handler filters may rewrite a record's arguments for the handlers after them.
    raw = Everything()
    root.addHandler(raw)
    stream = io.StringIO()
    real_stderr = sys.stderr
    sys.stderr = stream  # configure_logging logs to sys.stderr
    try:
        configure_logging(debug=True, log_file=log_file)
    finally:
        sys.stderr = real_stderr
    assert root.handlers.index(raw) < len(root.handlers) - 1
    # The app sanitises records where they are created (a record factory). Take that away for
    # the test, so the raw handler sees what the modules themselves log: the promise must hold
    # without the safety net; the handlers' own guard still runs for the stream and file.
    guarded_factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        yield raw, stream, log_file
    finally:
        logging.setLogRecordFactory(guarded_factory)
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved_level)


def test_services_never_log_case_content(
    real_keyring: str, data_dir: Path, logs: tuple[Everything, io.StringIO, Path]
) -> None:
    raw, stream, log_file = logs
    marker = new_marker()
    session = create_profile(data_dir, PASS, Identity.local("anna", "Anna"), FAST)
    case = cases.create_case(
        session,
        "individual_at_risk",
        f"Person {marker}",
        personnummer="880320-0016",
        address=f"Gatan {marker}",
        summary=f"Sammanfattning {marker}",
    )
    note = notes.add_note(session, case.id, f"Anteckning {marker}", place=f"Plats {marker}")
    notes.update_draft(session, note.id, text=f"Ändrad {marker}")
    notes.sign_note(session, note.id)
    notes.add_linked_note(session, note.id, LinkKind.CORRECTION, f"Rättelse {marker}", sign=True)
    assert search.search(session, marker)
    cases.open_case(session, case.id)
    assert cases.unmask_address(session, case.person_id) == f"Gatan {marker}"
    cases.set_case_fields(session, case.id, summary=f"Ny {marker}")
    consents.record_consent(
        session,
        case.id,
        given_by="person",
        given_by_name=f"Givare {marker}",
        recipients=[f"Mottagare {marker}"],
        information=f"Info {marker}",
        purpose=f"Syfte {marker}",
    )
    interventions.record_intervention(session, case.id, "mentor", description=f"Insats {marker}")
    notes.list_notes(session, case.id)
    audit.list_audit(session)
    # user errors that quote the input: the message goes to the user, not to the log
    for bad in (
        lambda: cases.create_case(session, "exit_support", "X", personnummer=marker),
        lambda: notes.update_draft(session, note.id, text=f"Efteråt {marker}"),
        lambda: cases.set_case_fields(session, case.id, next_contact=marker),
    ):
        with pytest.raises(FieldkitError):
            bad()
    session.lock()
    with pytest.raises(FieldkitError):
        open_session(data_dir, f"fel {marker} fel", FAST)
    open_session(data_dir, PASS, FAST).lock()

    assert any("fieldkit.services" in line for line in raw.lines), "nothing was logged at all"
    assert any(" DEBUG " in line or " INFO " in line for line in stream.getvalue().splitlines())
    assert not [line for line in raw.lines if marker in line]
    assert marker not in stream.getvalue()
    assert log_file.exists()
    assert marker not in log_file.read_text(encoding="utf-8")


def test_cli_with_verbose_logging_never_logs_case_content(
    real_keyring: str, data_dir: Path, tmp_path: Path
) -> None:
    marker = new_marker()
    create_profile(data_dir, PASS, Identity.local("anna", "Anna"), FAST).lock()
    env = dict(os.environ)
    env.update(
        FIELDKIT_PASSPHRASE=PASS,
        FIELDKIT_LANG="en",
        FIELDKIT_CONFIG_DIR=str(tmp_path / "config"),
        FIELDKIT_POLICY_ROOT=str(tmp_path / "policy"),
        FIELDKIT_LOG_DIR=str(tmp_path / "logs"),
    )
    stderr: list[str] = []

    def cli(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fieldkit", "-v", "--data-dir", str(data_dir), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        stderr.append(result.stderr)
        return result.stdout.strip()

    case_id = cli(
        "case", "add", "--type", "exit_support", "--name", f"Namn {marker}",
        "--address", f"Adress {marker}",
    )  # fmt: skip
    note_id = cli("note", "add", case_id, "--text", f"Text {marker}", "--sign")
    cli("note", "correct", note_id, "--text", f"Rättelse {marker}")
    assert marker in cli("case", "show", case_id, "--unmask")  # shown to the user...
    assert note_id in cli("--json", "search", marker)
    cli("note", "list", case_id)

    assert any(" INFO fieldkit." in s for s in stderr), "verbose logging was not on"
    assert not [s for s in stderr if marker in s]  # ...but never logged
    log_dir = tmp_path / "logs"
    for path in log_dir.rglob("*") if log_dir.exists() else []:
        if path.is_file():
            assert marker.encode() not in path.read_bytes()
