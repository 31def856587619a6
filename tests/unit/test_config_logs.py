"""Logs never carry case content: what a fieldkit module may log, and what the guard removes."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.config import logs
from fieldkit.domain.enums import Role
from fieldkit.domain.personnummer import parse
from fieldkit.errors import InvalidInput

MARKER = "Ahmed Al-Sayed bor på Storgatan 12, 19121212-1212"


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    """Logging configured as the app does it, writing to a captured stderr."""
    buffer = io.StringIO()
    real = sys.stderr
    sys.stderr = buffer
    try:
        logs.configure_logging(debug=True)
        yield buffer
    finally:
        sys.stderr = real
        logs.configure_logging(debug=False)


def test_ids_counts_and_kinds_are_logged_as_they_are(stderr: io.StringIO) -> None:
    note_id = str(uuid.uuid4())
    logging.getLogger("fieldkit.services.notes").info(
        "signed note %s (%d words) as %s, hash %s", note_id, 42, Role.TEAM_LEAD, "ab" * 32
    )
    line = stderr.getvalue()
    assert note_id in line and "42 words" in line and "team_lead" in line and "ab" * 32 in line
    assert logs.REDACTED not in line


def test_text_arguments_of_fieldkit_records_are_redacted(stderr: io.StringIO) -> None:
    log = logging.getLogger("fieldkit.services.search")
    log.debug("search for %s", MARKER)
    log.debug("answers %r", {"q1": MARKER})
    log.info("query %(query)s", {"query": MARKER})
    log.warning(ValueError(MARKER))  # type: ignore[arg-type]  # a non-str message
    output = stderr.getvalue()
    assert "Storgatan" not in output and "Al-Sayed" not in output
    assert output.count(logs.REDACTED) == 4


def test_an_exception_logged_with_traceback_keeps_frames_but_not_its_message(
    stderr: io.StringIO,
) -> None:
    log = logging.getLogger("fieldkit.cli")
    typed = "".join(["1912", "1212", "-1213"])  # so the number is not in this source line
    try:
        parse(typed)  # wrong check digit: the error message quotes the input
    except InvalidInput:
        log.exception("command failed")
    try:
        try:
            raise KeyError(MARKER)
        except KeyError as exc:
            raise RuntimeError(MARKER) from exc
    except RuntimeError:
        log.error("unexpected", exc_info=True)
    output = stderr.getvalue()
    assert "19121212-1213" not in output and "Storgatan" not in output
    assert "Traceback (most recent call last)" in output
    assert "fieldkit.errors.InvalidInput: The personnummer {value} has a wrong check digit." in (
        output
    )
    assert "builtins.KeyError: <redacted>" in output
    assert "test_config_logs.py" in output  # the frames are still there to debug with


def test_third_party_loggers_never_write_sql_parameters_or_bodies(stderr: io.StringIO) -> None:
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT ... [parameters: (%s,)]", MARKER)
    logging.getLogger("httpcore.http11").debug("send_request_body %s", MARKER)
    # even when someone lowers their level again after configure_logging
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine.Engine").info("[parameters: (%s,)]", MARKER)
    assert MARKER not in stderr.getvalue()
    logging.getLogger("sqlalchemy.engine.Engine").warning("pool exhausted")
    assert "pool exhausted" in stderr.getvalue()


def test_every_handler_sees_only_the_safe_record(
    stderr: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """The guard works where records are made, so a handler fieldkit did not install (here
    pytest's own) never sees the content either."""
    with caplog.at_level(logging.DEBUG, logger="fieldkit"):
        logging.getLogger("fieldkit.services.notes").debug("note text %s", MARKER)
    assert caplog.records and "Storgatan" not in caplog.text
    assert caplog.records[0].getMessage() == "note text <redacted>"


def test_other_libraries_warnings_still_reach_the_log(stderr: io.StringIO) -> None:
    logging.getLogger("keyring.backend").warning("backend %s unavailable", "kwallet")
    assert "backend kwallet unavailable" in stderr.getvalue()


def test_log_file_rotates_in_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "LOG_FILE_BYTES", 2_000)
    log_file = tmp_path / "logs" / "fieldkit.log"
    try:
        logs.configure_logging(level="info", log_file=log_file)
        log = logging.getLogger("fieldkit.sync")
        for n in range(200):
            log.info("pushed %d mutations for %s", n, MARKER)
        log.debug("not at info level")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        logs.configure_logging(debug=False)
    assert (log_file.parent.stat().st_mode & 0o777) == 0o700
    assert (log_file.stat().st_mode & 0o777) == 0o600
    rotated = sorted(log_file.parent.iterdir())
    assert log_file.with_name("fieldkit.log.1") in rotated
    text = "".join(p.read_text() for p in rotated)
    assert "pushed 199 mutations for <redacted>" in text
    assert MARKER not in text and "not at info level" not in text


def test_configure_logging_again_replaces_its_handlers() -> None:
    root = logging.getLogger()
    try:
        logs.configure_logging(debug=True)
        logs.configure_logging(debug=False)
        ours = [h for h in root.handlers if getattr(h, "_fieldkit", False)]
        assert len(ours) == 1
        assert root.level == logging.WARNING
        logs.configure_logging(level="error")
        assert root.level == logging.ERROR
    finally:
        logs.configure_logging(debug=False)


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (str(uuid.uuid4()), True),
        (uuid.uuid4(), True),
        (3, True),
        (2.5, True),
        (None, True),
        (Role.WORKER, True),
        ("0123456789abcdef0123", True),
        ("hello", False),
        ("note", False),
        (MARKER, False),
        (b"bytes", False),
        (["id"], False),
        ({"k": 1}, False),
    ],
)
def test_safe_arguments(value: object, allowed: bool) -> None:
    assert logs.safe_arg(value) is allowed


def test_the_app_logs_to_its_file_at_the_configured_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDKIT_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("FIELDKIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FIELDKIT_POLICY_ROOT", str(tmp_path / "etc"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text('{"log_level": "info"}')
    try:
        log_file = logs.configure_app_logging()
        logging.getLogger("fieldkit.sync").info("pulled %d changes", 12)
        logging.getLogger("fieldkit.sync").debug("below the level")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        logs.configure_logging(debug=False)
    assert log_file == tmp_path / "logs" / "fieldkit.log"
    text = log_file.read_text()
    assert "pulled 12 changes" in text and "below the level" not in text
