"""Screenshots of the main screens for the documentation, rendered offscreen at a fixed size,
in Swedish and English: ``python -m fieldkit.ui.screenshots OUTDIR``.

Everything shown is real: a central service (``fieldkit-server`` on embedded SQLite, started as
a subprocess on loopback), a worker and a team lead enrolled to it with real encrypted profiles,
made-up Swedish demo content written through the services and synced. The profiles' device
secrets go to the OS keyring, so run it where one is available (``tests/env/with-services.sh``
provides one in a throwaway session)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIZE = (1280, 800)
PASSPHRASE = "granen vid sjön lyser blått"  # noqa: S105 (a made-up demo profile)
CONFIG: dict[str, Any] = {"allow_http_loopback": True, "argon2_target_seconds": 0.05}


# --- a central service with a team ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_cli(db: str, *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "fieldkit.server.cli", "--db", db, *args, "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, FIELDKIT_LANG="en"),
    )
    try:
        return json.loads(out.stdout)
    except ValueError:
        return None  # a command without JSON output (init-db)


@contextlib.contextmanager
def central_service(workdir: Path) -> Iterator[tuple[str, str]]:
    """(url, db url) of a running fieldkit-server with a team, two users and the demo library."""
    import httpx

    from fieldkit.i18n import resources_dir

    db = f"sqlite:///{workdir / 'server.db'}"
    _server_cli(db, "init-db")
    team = _server_cli(db, "team", "add", "Fältgruppen Söder")
    team_id = str(team["id"])
    _server_cli(
        db,
        "user",
        "add",
        "anna",
        "--team",
        team_id,
        "--role",
        "worker",
        "--display-name",
        "Anna Lindqvist",
    )
    _server_cli(
        db,
        "user",
        "add",
        "lena",
        "--team",
        team_id,
        "--role",
        "team_lead",
        "--display-name",
        "Lena Berg",
    )
    library = resources_dir() / "demo" / "knowledge"
    for doc in sorted(library.glob("*.md")):
        title = doc.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
        _server_cli(db, "docs", "publish", str(doc), "--title", title, "--tags", doc.stem)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit.server.cli", "--db", db, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, db
    finally:
        proc.terminate()
        proc.wait(10)


# --- demo content through the services --------------------------------------------------------


@dataclass
class Demo:
    anna_dir: Path
    lena_dir: Path
    case_ids: dict[str, str] = field(default_factory=dict)


def _rating_answers(form: Any, rng: random.Random, level: int) -> dict[str, Any]:
    """Ratings as a worker might give them: mostly low concern, some unknown, notes for the
    positive ones (the form requires a basis)."""
    answers: dict[str, Any] = {}
    for section in form.sections:
        for item in section.items:
            if item.type != "rating":
                continue
            codes = [o.code for o in item.options]
            protect = "absent" in codes
            weights = [3, 2, 1, 1] if not protect else [1, 2, 3, 1]
            if level > 1 and not protect:
                weights = [2, 3, 2, 1]
            code = rng.choices(codes, weights=weights)[0]
            if section.id == "F":
                code = "none"  # no signs of planning or urgency in this demo
            answer: dict[str, Any] = {"rating": code}
            if code not in ("none", "unknown", "absent"):
                answer["note"] = "Framgår av samtal och skolans iakttagelser."
                answer["sources"] = ["talk_person", "school"]
                answer["observed_on"] = (dt.date.today() - dt.timedelta(days=12)).isoformat()
            answers[item.id] = answer
    return answers


def _concern(form: Any, rng: random.Random, level: int, followup: bool) -> dict[str, Any]:
    answers = _rating_answers(form, rng, level)
    answers.update(
        {
            "A1": "followup" if followup else "initial",
            "A2": ["talk_person", "school", "guardian"],
            "A3": "partial",
            "A4": "yes",
            "S1": "moderate" if level > 1 else "low",
            "S2": "no",
            "S3": (
                "Sven har under hösten sökt sig till nya sammanhang på nätet där våld "
                "framställs som en lösning. Han har samtidigt god kontakt med mentorn och "
                "går i skolan. Inga tecken på planering. Oron gäller främst påverkan via "
                "nätet och att han drar sig undan familjen."
            ),
            "S4": "Oron ökar om han slutar gå i skolan eller bryter kontakten med mentorn.",
            "S7": "moderate",
            "I1": ["mentor", "coordinated"],
            "I2": "yes",
            "I3": (dt.date.today() + dt.timedelta(days=90 if level > 1 else 180)).isoformat(),
        }
    )
    if followup:
        answers["S6"] = "Tätare kontakt med nätmiljön sedan förra bedömningen."
    return answers


def seed(workdir: Path, url: str, db: str) -> Demo:
    from fieldkit.forms.registry import default_registry
    from fieldkit.services import (
        assessments,
        cases,
        consents,
        demo_content,
        interventions,
        notes,
        profile,
        sync,
    )

    demo = Demo(workdir / "anna", workdir / "lena")
    rng = random.Random(7)  # noqa: S311 (made-up demo content, not security)
    concern = default_registry().latest("fk.vbe.concern")

    code = _server_cli(db, "enroll-code", "anna")["code"]
    s = sync.enroll(demo.anna_dir, code, PASSPHRASE, server_url=url, config=CONFIG)
    try:
        sven = cases.create_case(
            s,
            "individual_at_risk",
            "Sven Berg",
            "20060901-9898",
            reference="VBE-2026-0042",
            district="Farsta",
            summary="Oro från skolan om radikalisering på nätet.",
        )
        demo.case_ids["sven"] = sven.id
        for i, (text, place, kind) in enumerate(
            [
                (
                    "Första kontakt på fritidsgården. Sven var avvaktande men ville prata om "
                    "skolan och sina nya vänner på nätet.",
                    "Fritidsgården Farsta",
                    "outreach",
                ),
                (
                    "Samtal med mentorn och Sven om närvaron. Överenskommelse om veckovisa "
                    "avstämningar.",
                    "Skolan",
                    "meeting",
                ),
                (
                    "Telefonsamtal med mamma som är orolig för vad Sven tittar på på nätet.",
                    "",
                    "phone",
                ),
            ]
        ):
            notes.add_note(
                s,
                sven.id,
                text,
                contact_type=kind,
                place=place,
                event_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=20 - 6 * i),
                sign=True,
            )
        notes.add_note(
            s,
            sven.id,
            "Hembesök inplanerat nästa vecka tillsammans med familjebehandlaren.",
            contact_type="visit",
            place="Hemmet",
        )
        consents.record_consent(
            s,
            sven.id,
            given_by="person",
            given_by_name="Sven Berg",
            recipients="Skolan, Mentor",
            information="Närvaro och mående",
            purpose="Samordnat stöd kring skolgången",
            valid_until=dt.date.today() + dt.timedelta(days=150),
        )
        consents.record_disclosure(
            s,
            sven.id,
            recipient="Skolan",
            recipient_kind="school",
            information="Att Sven har kontakt med fältgruppen",
            legal_basis="consent",
        )
        interventions.record_intervention(
            s,
            sven.id,
            "mentor",
            dt.date.today() - dt.timedelta(days=40),
            description="Mentor från föreningen, träffar Sven varje vecka.",
            responsible="Föreningen Järvalyftet",
        )
        a1 = assessments.create_assessment(
            s, sven.id, "fk.vbe.concern", answers=_concern(concern, rng, 1, False)
        )
        assessments.submit(s, a1.id)
        maria = cases.create_case(
            s,
            "exit_support",
            "Maria Ek",
            protected_identity="protected_registration",
            address="Hemlig gatan 7, Stockholm",
            reference="VBE-2026-0043",
            summary="Vill lämna en våldsbejakande miljö, hotad av tidigare vänner.",
        )
        demo.case_ids["maria"] = maria.id
        notes.add_note(
            s,
            maria.id,
            "Samtal på neutral plats om säkerhetsplan och boende.",
            contact_type="meeting",
            sign=True,
        )
        draft = assessments.create_assessment(s, maria.id, "fk.vbe.concern")
        partial = _rating_answers(concern, rng, 2)
        partial = dict(list(partial.items())[:9])
        partial.update(
            {
                "A1": "initial",
                "A3": "poor",
                "F1": {"rating": "some", "note": "Hot mot henne från tidigare vänner."},
            }
        )
        assessments.save_draft(s, draft.id, partial)
        demo.case_ids["maria_draft"] = draft.id
        for n in range(18):
            p = demo_content.person(rng)
            kind = demo_content.case_type(rng)
            c = cases.create_case(
                s,
                kind,
                p.name,
                p.personnummer,
                protected_identity=p.protected_identity,
                address=p.address,
                reference=f"VBE-2026-{44 + n:04d}",
                district=p.district,
                summary=demo_content.summary(kind),
            )
            for _k in range(rng.randint(1, 3)):
                notes.add_note(
                    s,
                    c.id,
                    demo_content.note_text(rng, p.first, p.district, 300),
                    contact_type=demo_content.contact_type(rng),
                    sign=True,
                )
        sync.sync_now(s)
    finally:
        s.lock()

    code = _server_cli(db, "enroll-code", "lena")["code"]
    lead = sync.enroll(demo.lena_dir, code, PASSPHRASE, server_url=url, config=CONFIG)
    try:
        sync.sync_now(lead)
        assessments.review(
            lead, a1.id, "agree", "Välgrundad bedömning. Följ upp om tre månader.", "approve"
        )
        sync.sync_now(lead)
    finally:
        lead.lock()

    s = profile.open_session(demo.anna_dir, PASSPHRASE, CONFIG)
    try:
        sync.sync_now(s)
        a2 = assessments.create_assessment(
            s, sven.id, "fk.vbe.concern", answers=_concern(concern, rng, 2, True)
        )
        assessments.submit(s, a2.id)
        sync.sync_now(s)
    finally:
        s.lock()
    lead = profile.open_session(demo.lena_dir, PASSPHRASE, CONFIG)
    try:
        sync.sync_now(lead)
    finally:
        lead.lock()
    return demo


# --- rendering -----------------------------------------------------------------------------------


def _wait(app: Any, condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get ready in time")
        app.processEvents()
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()


def _open_window(app: Any, data_dir: Path, unlock: bool = True) -> Any:
    from fieldkit.ui.app import build_window

    win = build_window(data_dir, dict(CONFIG))
    win.sync.push_delay = 3600.0
    win.resize(*SIZE)
    win.show()
    if unlock:
        win.unlock_screen.passphrase.setText(PASSPHRASE)
        win.unlock_screen.submit()
        _wait(app, lambda: win.ctx.is_unlocked and win.workspace is not None)
        ws = win.workspace
        assert ws is not None
        _wait(app, lambda: ws.caseload.loaded and win.sync.last_report is not None)
    return win


def _close(app: Any, win: Any) -> None:
    win.sync.stop()
    win.sync.wait_stopped()
    if win.ctx.is_unlocked:
        win.ctx.lock()
    win.ctx.taskman.shutdown(wait=True)
    win.hide()
    win.deleteLater()
    app.processEvents()


def _save(win: Any, out: Path, name: str, language: str) -> Path:
    path = out / f"{name}-{language}.png"
    win.grab().save(str(path))
    return path


def render(demo: Demo, out: Path, language: str) -> list[Path]:
    from fieldkit.ui.app import application
    from fieldkit.ui.i18n import apply_language

    app = application(config={"language": language})
    apply_language(app, language)
    shots: list[Path] = []

    win = _open_window(app, demo.anna_dir, unlock=False)
    _wait(app, lambda: True)
    shots.append(_save(win, out, "unlock", language))
    win.unlock_screen.passphrase.setText(PASSPHRASE)
    win.unlock_screen.submit()
    _wait(app, lambda: win.ctx.is_unlocked and win.workspace is not None)
    ws = win.workspace
    _wait(app, lambda: ws.caseload.loaded and win.sync.last_report is not None)
    ws.caseload.table.selectRow(0)
    shots.append(_save(win, out, "caseload", language))

    win.ctx.open_case_requested.emit(demo.case_ids["sven"])
    _wait(app, lambda: ws.case.loads >= 1)
    ws.case.tabs.setCurrentWidget(ws.case.journal)
    journal = ws.case.journal
    journal.timeline.setCurrentRow(journal.timeline.count() - 2)
    journal.place.setText("Fritidsgården Farsta")
    journal.present.setText("Sven, mentorn")
    journal._loading_editor = True
    journal.text.setPlainText("Sven berättade att han har slutat spela med de nya vännerna.")
    journal._loading_editor = False
    _wait(app, lambda: True)
    shots.append(_save(win, out, "case-journal", language))

    ws.case.tabs.setCurrentWidget(ws.case.profile)
    _wait(app, lambda: True)
    shots.append(_save(win, out, "risk-profile", language))

    win.ctx.open_case_requested.emit(demo.case_ids["maria"])
    _wait(app, lambda: ws.case.loads >= 2 and ws.case.case_id == demo.case_ids["maria"])
    tab = ws.case.assessments
    ws.case.tabs.setCurrentWidget(tab)
    _wait(app, lambda: bool(tab.items))
    tab.select(demo.case_ids["maria_draft"])
    tab.open_selected()
    _wait(app, lambda: tab.renderer is not None)
    _wait(app, lambda: True)
    shots.append(_save(win, out, "assessment-form", language))

    ws.show_page(ws.sync_page)
    ws.sync_page.reload()
    _wait(app, lambda: True)
    time.sleep(0.3)
    _wait(app, lambda: True)
    shots.append(_save(win, out, "sync-panel", language))

    ws.show_page(ws.knowledge)
    ws.knowledge.open_topic("orosanmälan")
    _wait(app, lambda: ws.knowledge.list.count() > 0)
    shots.append(_save(win, out, "guidance", language))
    _close(app, win)

    lead = _open_window(app, demo.lena_dir)
    review = lead.workspace.review
    lead.workspace.show_page(review)
    _wait(app, lambda: len(review.queue.rows) == 1)
    review.queue.select_row(0)
    _wait(app, lambda: review.queue.detail is not None)
    review.queue.partly.setChecked(True)
    review.queue.comment.setPlainText(
        "Bra underlag. Beskriv närmare vad skolan har sett, och stäm av med mentorn."
    )
    _wait(app, lambda: True)
    shots.append(_save(lead, out, "review-panel", language))
    _close(app, lead)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fieldkit.ui.screenshots")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--lang", action="append", choices=["sv", "en"])
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from fieldkit import i18n

    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    args.outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fieldkit-shots-") as tmp:
        workdir = Path(tmp)
        os.environ["FIELDKIT_CONFIG_DIR"] = str(workdir / "config")
        os.environ["FIELDKIT_POLICY_ROOT"] = str(workdir / "policy")
        with central_service(workdir) as (url, db):
            demo = seed(workdir, url, db)
            for language in args.lang or ["sv", "en"]:
                for path in render(demo, args.outdir, language):
                    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
