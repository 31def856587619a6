"""Secrets hygiene (issue 11, item 7): a full working session - through the services and
through the real GUI offscreen: case, notes, an assessment, search, a PDF export, sync, lock -
with a unique marker written into the records; then every file under the data, config, cache,
log and temp folders, the home folder and Qt's settings is scanned for the marker (raw UTF-8,
UTF-16-LE and -BE). Allowed: the vault itself (encrypted) and the PDF deliberately exported."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rel_common import Counters
from sync_harness import FAST, PASS, Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.forms import FormRegistry
from fieldkit.forms.answers import Visibility
from fieldkit.services import assessments, cases, exports, notes, search
from fieldkit.services.profile import open_session
from fieldkit.services.sync import sync_now

pytestmark = pytest.mark.keyring


def answers_with(text: str) -> dict[str, Any]:
    form = FormRegistry.load().latest("fk.vbe.concern")
    answers: dict[str, Any] = {}
    for item in form.items():
        if item.type in ("rating", "singleselect"):
            answers[item.id] = item.codes[0]
        elif item.type == "yes_no_unknown":
            answers[item.id] = "yes"
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = (f"{text} svar " * 12).strip()
        elif item.type == "date":
            answers[item.id] = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    shown = Visibility(form, answers).visible_items
    return {k: v for k, v in answers.items() if k in shown}


def patterns(marker: str) -> dict[str, bytes]:
    core = marker.split("-")[0]
    out = {}
    for token in (core, marker):
        for enc in ("utf-8", "utf-16-le", "utf-16-be"):
            out[f"{enc}:{token}"] = token.encode(enc)
    return out


def scan(roots: list[Path], marker: str, allowed: set[Path]) -> tuple[int, list[str]]:
    files, hits = 0, []
    pats = patterns(marker)
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            continue
        for path in [root] if root.is_file() else root.rglob("*"):
            real = path.resolve()
            if real in seen or not path.is_file() or path.is_symlink():
                continue
            seen.add(real)
            if real in allowed:
                continue
            try:
                blob = path.read_bytes()
            except OSError:
                continue
            files += 1
            hits += [f"{path} ({name})" for name, p in pats.items() if p in blob]
    return files, hits


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    dirs = {name: tmp_path / name for name in ("tmp", "logs", "config", "cache")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("TMPDIR", str(dirs["tmp"]))
    monkeypatch.setenv("FIELDKIT_LOG_DIR", str(dirs["logs"]))
    monkeypatch.setenv("FIELDKIT_CONFIG_DIR", str(dirs["config"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield dirs
    tempfile.tempdir = None


def test_no_marker_outside_the_vault_and_the_export(
    tmp_path: Path,
    folders: dict[str, Path],
    real_keyring: str,
    qtbot: Any,
    record: Counters,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from PySide6.QtCore import QCoreApplication

    from fieldkit import i18n

    caplog.set_level(logging.DEBUG)  # everything the app logs, at its most talkative
    names = (QCoreApplication.organizationName(), QCoreApplication.applicationName())
    QCoreApplication.setOrganizationName("fieldkit")  # as fieldkit.ui.app.main sets them
    QCoreApplication.setApplicationName("fieldkit")

    marker = f"zqxmark{secrets.token_hex(6)}-ÅÄÖ-åäö"
    db = ServerDB(f"sqlite:///{tmp_path / 'server.db'}")
    server = LiveServer(db.url).start()
    try:
        team_id = db.team("Fältgruppen Hemlig")
        db.user("anna", team_id)
        anna = Laptop(tmp_path / "anna", server.url, db.code("anna"))
        pdf = tmp_path / "export" / "journal.pdf"
        pdf.parent.mkdir()
        # --- through the services
        s = open_session(anna.data_dir, PASS, FAST)
        try:
            case = cases.create_case(
                s,
                CaseType.INDIVIDUAL_AT_RISK,
                f"Person {marker}",
                address=f"Gatan {marker}",
                summary=f"Sammanfattning {marker}",
            )
            for i in range(5):
                notes.add_note(s, case.id, f"Anteckning {i} {marker}", sign=i % 2 == 0)
            a = assessments.create_assessment(
                s, case.id, "fk.vbe.concern", answers=answers_with(f"Bedömning {marker}")
            )
            assessments.submit(s, a.id)
            assert search.search(s, marker.split("-")[0])
            exports.export_journal(s, case.id, pdf)
            cases.unmask_address(s, case.person_id)
            sync_now(s)
        finally:
            s.lock()
        # --- through the GUI, offscreen
        from fieldkit.ui.app import build_window

        before = i18n.current_language()
        i18n.set_language("en")
        win = build_window(anna.data_dir, {"argon2_target_seconds": 0.01, "auto_lock_minutes": 5})
        qtbot.addWidget(win)
        win.resize(1200, 800)
        win.show()
        try:
            win.unlock_screen.passphrase.setText(PASS)
            win.unlock_screen.submit()
            qtbot.waitUntil(
                lambda: win.ctx.is_unlocked and win.workspace is not None, timeout=20000
            )
            page = win.workspace.caseload
            qtbot.waitUntil(lambda: page.loaded, timeout=10000)
            page.search_box.setText(marker.split("-")[0])
            page.full_text_search()
            qtbot.waitUntil(lambda: page.hits.count() >= 1, timeout=10000)
            page._hit_activated(page.hits.item(0))
            qtbot.waitUntil(lambda: win.workspace.case.loads >= 1, timeout=10000)
            assert marker in win.workspace.case.header.name.text()
        finally:
            win.sync.stop()
            win.sync.wait_stopped()
            if win.ctx.is_unlocked:
                win.ctx.lock()
            win.ctx.taskman.shutdown(wait=True)
            win.close()
            i18n.set_language(before)
        from PySide6.QtCore import QSettings

        qsettings = Path(QSettings().fileName())
    finally:
        QCoreApplication.setOrganizationName(names[0])
        QCoreApplication.setApplicationName(names[1])
        server.stop()
        db.close()

    allowed = {p.resolve() for p in anna.data_dir.glob("vault.db*")} | {pdf.resolve()}
    home = Path(os.environ["HOME"])
    roots = [anna.data_dir, *folders.values(), home, qsettings, pdf.parent]
    files, hits = scan(roots, marker, allowed)
    record.iterations = files
    record.faults = 1
    record.lost = 0
    log_text = caplog.text.encode("utf-8")
    assert "fieldkit" in caplog.text, "the app's log was not captured"
    hits += [f"log output ({name})" for name, p in patterns(marker).items() if p in log_text]
    for hit in hits:
        record.wrong(f"marker found: {hit}")
    # the scan can see: the marker is in the export (plain PDF text streams are compressed,
    # so the probe is a file written for the purpose)
    probe = folders["tmp"] / "probe"
    probe.write_bytes(f"x {marker} y".encode("utf-16-le"))
    assert scan([probe], marker, set())[1]
    probe.unlink()
    record.notes.append(f"{files} files scanned under {len(roots)} roots, {len(hits)} hits")
    record.assert_clean()
