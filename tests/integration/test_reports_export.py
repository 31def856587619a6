"""Exporting documents from a real profile (SQLCipher vault, OS keyring): the policy, the audit
event (exactly one, no content), the file written only where asked with nothing left behind,
password protection, and the ``fieldkit export`` command as a user runs it."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain.enums import (
    AuditAction,
    ConsentGiver,
    LinkKind,
    ProtectedIdentity,
    ReviewDecision,
    ReviewOutcome,
    Role,
)
from fieldkit.domain.ids import new_id
from fieldkit.errors import ExitCode, InvalidInput, Refused
from fieldkit.forms.registry import default_registry
from fieldkit.reports import samples
from fieldkit.services import assessments, cases, consents, exports, interventions, notes
from fieldkit.services.exports import ExportRefused
from fieldkit.services.profile import Identity, Session, create_profile, wipe_profile

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
CONFIG: dict[str, Any] = {
    "argon2_target_seconds": 0.01,
    "municipality_name": "Malmö stad",
    "unit_name": "Fältgruppen Söder",
    "export_allowed": True,
}


@pytest.fixture
def session(real_keyring: str, data_dir: Path):  # type: ignore[no-untyped-def]
    identity = Identity.local("asa", "Åsa Öberg", Role.WORKER, "Fältgruppen Söder")
    s = create_profile(data_dir, PASS, identity, dict(CONFIG))
    yield s
    if not s.locked:
        s.lock()
    wipe_profile(data_dir)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """Where the user chose to save documents (apart from the profile)."""
    folder = tmp_path / "dokument"
    folder.mkdir()
    return folder


def pdf_text(path: Path) -> list[str]:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return [" ".join(p.split()) for p in out.split("\f") if p.strip()]


def qpdf_check(path: Path, password: str | None = None) -> subprocess.CompletedProcess[str]:
    args = ["qpdf", *([f"--password={password}"] if password else []), "--check", str(path)]
    return subprocess.run(args, capture_output=True, text=True)


def exports_in(s: Session) -> list[Any]:
    return [e for e in s.vault.audit.list() if e.action is AuditAction.EXPORT]


def make_case(s: Session, protected: ProtectedIdentity = ProtectedIdentity.NONE) -> Any:
    case = cases.create_case(
        s,
        "individual_at_risk",
        "Elias Åkesson-Lindqvist",
        personnummer="20090412-2389",
        protected_identity=protected,
        address="Östra Förstadsgatan 12 B",
        reference="VBE-2026-0042",
        summary="Oro från skolan.",
    )
    first = notes.add_note(
        s,
        case.id,
        "Träffade Elias på fritidsgården. Han berättade om skolan och sömnen.",
        place="Fritidsgården Kärnan",
        present="Elias, Åsa",
        event_time="2026-02-03T15:00:00+01:00",
        sign=True,
    )
    notes.add_linked_note(
        s,
        first.id,
        LinkKind.CORRECTION,
        "Rättelse: det var på tisdagen, inte måndagen.",
        event_time="2026-02-05T09:00:00+01:00",
        sign=True,
    )
    notes.add_note(
        s,
        case.id,
        "Samtal med mamma om läget hemma; hon är orolig.",
        contact_type="phone",
        event_time="2026-02-10T10:00:00+01:00",
        sign=True,
    )
    notes.add_note(s, case.id, "Utkast som inte är klart ännu.", event_time="2026-02-11T10:00")
    interventions.record_intervention(
        s, case.id, "mentor", dt.date(2026, 1, 10), description="Mentor varje vecka"
    )
    consents.record_consent(
        s,
        case.id,
        given_by=ConsentGiver.GUARDIAN,
        given_by_name="Maria Åkesson",
        recipients=["Skolan"],
        information="Närvaro",
        purpose="SSPF",
        valid_from=dt.date(2026, 1, 1),
    )
    return case


def make_assessment(s: Session, case_id: str) -> Any:
    form = default_registry().get("fk.vbe.concern", "1.2.0")
    import random

    from fieldkit.forms import validate

    answers = samples.concern_answers(form, random.Random(3))
    result = validate(form, answers, {})
    warned = {i.check_id for i in [*result.errors, *result.warnings] if i.check_id}
    overrides = {check: "Tre källor." for check in warned}
    a = assessments.create_assessment(
        s, case_id, form.id, form.version, answers=answers, overrides=overrides
    )
    a = assessments.submit(s, a.id)
    # The team lead's review (another user, another laptop) arrives as a record.
    lead = new_id()
    reviewed, review = assessment_rules.review(
        a,
        lead,
        Role.TEAM_LEAD,
        ReviewDecision.AGREE,
        ReviewOutcome.APPROVE,
        "Väl underbyggd bedömning.",
        "Jörgen Ängström",
    )
    with s.vault.transaction():
        s.vault.assessments.put(reviewed)
        s.vault.reviews.put(review)
    return reviewed


# --- the three documents --------------------------------------------------------------------


def test_assessment_export_writes_the_report_and_exactly_one_audit_event(
    session: Session, out_dir: Path
) -> None:
    case = make_case(session)
    a = make_assessment(session, case.id)
    before = len(exports_in(session))
    out = out_dir / "bedömning.pdf"
    result = exports.export_assessment(session, a.id, out, language="sv")
    assert out.is_file() and result.path == out
    pages = pdf_text(out)
    assert len(pages) == result.pages == len(PdfReader(str(out)).pages)
    for number, page in enumerate(pages, start=1):
        assert "SEKRETESS – OSL 26 kap." in page
        assert f"Sida {number} av {len(pages)}" in page
    text = " ".join(pages)
    for expected in (
        "Malmö stad · Fältgruppen Söder",
        "VBE-2026-0042",
        "Elias Åkesson-Lindqvist",
        "Oro för våldsbejakande extremism, version 1.2.0",
        "Åsa Öberg",
        "Jörgen Ängström",
        "Väl underbyggd bedömning.",
        "Tre källor.",
        "Mentor varje vecka",
        a.content_hash,
    ):
        assert expected in text, expected
    assert qpdf_check(out).returncode == 0
    events = exports_in(session)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.record_type, event.record_id, event.case_id) == ("assessment", a.id, case.id)
    assert event.details == {
        "document": "assessment",
        "format": "pdf",
        "pages": result.pages,
        "encrypted": False,
        "language": "sv",
    }
    assert "Elias" not in json.dumps(event.details) and "bedömning.pdf" not in json.dumps(
        event.details
    )
    queued = [r for r in session.vault.outbox.pending(limit=10_000) if r.name == "audit.append"]
    assert any(r.args["events"][0]["id"] == event.id for r in queued)  # goes to the server
    assert sorted(os.listdir(out_dir)) == ["bedömning.pdf"]  # nothing left behind


def test_journal_export_for_a_period_with_corrections(session: Session, out_dir: Path) -> None:
    case = make_case(session)
    out = out_dir / "journal.pdf"
    result = exports.export_journal(
        session,
        case.id,
        out,
        start=dt.date(2026, 2, 1),
        end=dt.date(2026, 2, 28),
        language="sv",
    )
    text = " ".join(pdf_text(out))
    assert text.index("Träffade Elias") < text.index("RÄTTELSE av anteckning 1")
    assert text.index("Rättelse: det var på tisdagen") < text.index("Samtal med mamma")
    assert "1 osignerade utkast under perioden ingår inte" in text
    assert "Utkast som inte är klart" not in text
    assert "2026-02-01 – 2026-02-28" in text
    event = exports_in(session)[-1]
    assert (event.record_type, event.record_id) == ("case", case.id)
    assert event.details["period"] == {"from": "2026-02-01", "to": "2026-02-28"}
    assert event.details["pages"] == result.pages


def test_subject_extract_gathers_the_person_across_cases(session: Session, out_dir: Path) -> None:
    first = make_case(session)
    second = cases.create_case(
        session,
        "exit_support",
        "Elias Åkesson-Lindqvist",
        personnummer="20090412-2389",
        reference="EXIT-2026-0007",
    )
    notes.add_note(session, second.id, "Första mötet om stöd att lämna.", sign=True)
    cases.open_case(session, first.id)  # a logged read about the person
    out = out_dir / "registerutdrag.pdf"
    result = exports.export_subject(session, first.id, out, language="sv")
    pages = pdf_text(out)
    for page in pages:
        assert "UTKAST – för sekretessprövning före utlämnande" in page
        assert "SEKRETESS – OSL 26 kap." in page
    text = " ".join(pages)
    for expected in (
        "VBE-2026-0042",
        "EXIT-2026-0007",
        "Första mötet om stöd att lämna.",
        "Utkast som inte är klart ännu.",  # drafts are held too
        "Maria Åkesson",
        "Ärendet öppnat",
        "Östra Förstadsgatan 12 B",
    ):
        assert expected in text, expected
    event = exports_in(session)[-1]
    assert event.record_type == "person" and event.details["cases"] == 2
    assert result.pages == len(pages)


# --- protection and policy -----------------------------------------------------------------


def test_password_protected_export_opens_only_with_the_password(
    session: Session, out_dir: Path
) -> None:
    case = make_case(session)
    out = out_dir / "skyddad.pdf"
    exports.export_journal(session, case.id, out, password="hemligt lösen 7")
    reader = PdfReader(str(out))
    assert reader.is_encrypted and reader.trailer["/Encrypt"]["/V"] == 5
    assert not reader.decrypt("fel")
    assert reader.decrypt("hemligt lösen 7")
    assert "Journalutdrag" in reader.pages[0].extract_text() or "Journal" in (
        reader.pages[0].extract_text()
    )
    assert qpdf_check(out, "hemligt lösen 7").returncode == 0
    assert qpdf_check(out, "fel").returncode != 0
    assert exports_in(session)[-1].details["encrypted"] is True
    with pytest.raises(InvalidInput):
        exports.export_journal(session, case.id, out_dir / "kort.pdf", password="kort")
    assert not (out_dir / "kort.pdf").exists()


def test_export_refused_when_policy_disallows(session: Session, out_dir: Path) -> None:
    case = make_case(session)
    before = len(exports_in(session))
    session.config = {**CONFIG, "export_allowed": False}
    with pytest.raises(ExportRefused):
        exports.export_journal(session, case.id, out_dir / "x.pdf")
    assert os.listdir(out_dir) == []
    assert len(exports_in(session)) == before


def test_protected_person_refused_under_keep_off_laptop_policy_and_marked_otherwise(
    session: Session, out_dir: Path
) -> None:
    case = make_case(session, ProtectedIdentity.FICTITIOUS_IDENTITY)
    out = out_dir / "journal.pdf"
    exports.export_journal(session, case.id, out, language="sv")
    text = " ".join(pdf_text(out))
    assert "SKYDDADE PERSONUPPGIFTER: FINGERADE PERSONUPPGIFTER" in text
    assert "20090412-2389" not in text and "Östra Förstadsgatan" not in text
    session.config = {**CONFIG, "keep_protected_identity_off_laptop": True}
    with pytest.raises(ExportRefused):
        exports.export_journal(session, case.id, out_dir / "other.pdf")
    assert not (out_dir / "other.pdf").exists()


def test_when_the_audit_event_cannot_be_written_no_file_is_written(
    session: Session, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(session)
    before = len(exports_in(session))

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session.vault.audit, "append", broken)
    with pytest.raises(Exception):  # noqa: B017 - whatever the vault raises, nothing is written
        exports.export_journal(session, case.id, out_dir / "journal.pdf")
    monkeypatch.undo()
    assert os.listdir(out_dir) == []  # neither the document nor a temporary file
    assert len(exports_in(session)) == before


def test_existing_file_is_not_replaced_without_force_and_folder_must_exist(
    session: Session, out_dir: Path
) -> None:
    case = make_case(session)
    out = out_dir / "journal.pdf"
    out.write_bytes(b"mine")
    with pytest.raises(Refused):
        exports.export_journal(session, case.id, out)
    assert out.read_bytes() == b"mine"
    exports.export_journal(session, case.id, out, overwrite=True)
    assert out.read_bytes().startswith(b"%PDF")
    with pytest.raises(InvalidInput):
        exports.export_journal(session, case.id, out_dir / "saknas" / "journal.pdf")
    with pytest.raises(InvalidInput):
        exports.export_journal(session, case.id, out_dir)


def test_a_worker_not_on_the_case_cannot_export_it(session: Session, out_dir: Path) -> None:
    case = make_case(session)
    from fieldkit.domain.records import replace

    with session.vault.transaction():
        session.vault.cases.put(replace(case, owner_id=new_id(), team_id=new_id()))
    with pytest.raises(ExportRefused):
        exports.export_journal(session, case.id, out_dir / "j.pdf")
    assert os.listdir(out_dir) == []


# --- the command ----------------------------------------------------------------------------


def cli_env(tmp_path: Path, policy: dict[str, Any] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FIELDKIT_DATA_DIR", None)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    root = tmp_path / "policy"
    if policy is not None:
        (root / "policies" / "managed").mkdir(parents=True, exist_ok=True)
        (root / "policies" / "managed" / "export.json").write_text(json.dumps(policy))
    env.update(
        TMPDIR=str(tmp_path / "tmp"),
        FIELDKIT_LANG="sv",
        FIELDKIT_PASSPHRASE=PASS,
        FIELDKIT_CONFIG_DIR=str(tmp_path / "config"),
        FIELDKIT_POLICY_ROOT=str(root),
        FIELDKIT_LOG_DIR=str(tmp_path / "logs"),
    )
    return env


def run(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_exports_assessment_journal_and_subject(
    session: Session, data_dir: Path, tmp_path: Path
) -> None:
    case = make_case(session)
    a = make_assessment(session, case.id)
    session.lock()
    env = cli_env(tmp_path)
    out_dir = tmp_path / "ut"
    out_dir.mkdir()
    secret = tmp_path / "pw.txt"
    secret.write_text("ett bra lösenord\n", encoding="utf-8")
    done = run(
        env,
        data_dir,
        "export",
        "assessment",
        a.id,
        "--out",
        str(out_dir / "a.pdf"),
        "--lang",
        "en",
        "--password-file",
        str(secret),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["encrypted"] is True and result["pages"] >= 3
    reader = PdfReader(str(out_dir / "a.pdf"))
    assert reader.decrypt("ett bra lösenord")
    assert "Structured assessment" in reader.pages[0].extract_text()
    done = run(
        env,
        data_dir,
        "export",
        "journal",
        case.id,
        "--out",
        str(out_dir / "j.pdf"),
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
    )
    assert done.returncode == 0, done.stderr
    assert "sidor" in done.stdout  # Swedish message
    done = run(env, data_dir, "export", "subject", case.id, "--out", str(out_dir / "s.pdf"))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out_dir)) == ["a.pdf", "j.pdf", "s.pdf"]
    done = run(env, data_dir, "export", "journal", case.id, "--out", str(out_dir / "j.pdf"))
    assert done.returncode == ExitCode.REFUSED and "finns redan" in done.stderr
    bad = run(env, data_dir, "export", "journal", case.id, "--out", "x.pdf", "--from", "igår")
    assert bad.returncode == ExitCode.USAGE and "Traceback" not in bad.stderr


def test_cli_export_refused_by_managed_policy(
    session: Session, data_dir: Path, tmp_path: Path
) -> None:
    case = make_case(session)
    session.lock()
    env = cli_env(tmp_path, {"export_allowed": False})
    out = tmp_path / "j.pdf"
    done = run(env, data_dir, "export", "journal", case.id, "--out", str(out))
    assert done.returncode == ExitCode.REFUSED, done.stdout + done.stderr
    assert "avstängd enligt organisationens policy" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_every_export_in_a_session_is_one_audit_event_each(session: Session, out_dir: Path) -> None:
    case = make_case(session)
    a = make_assessment(session, case.id)
    before = len(exports_in(session))
    exports.export_assessment(session, a.id, out_dir / "1.pdf")
    exports.export_journal(session, case.id, out_dir / "2.pdf")
    exports.export_subject(session, case.person_id, out_dir / "3.pdf")
    kinds = [e.details["document"] for e in exports_in(session)[before:]]
    assert kinds == ["assessment", "journal", "subject"]
    for name in ("1.pdf", "2.pdf", "3.pdf"):
        assert qpdf_check(out_dir / name).returncode == 0
    assert io  # (pypdf parses from files here)


def test_when_the_rename_fails_the_temporary_file_is_removed(
    session: Session, out_dir: Path
) -> None:
    target = out_dir / "upptagen"
    target.mkdir()
    (target / "fil.txt").write_text("något annat")  # a non-empty folder cannot be replaced
    calls: list[str] = []

    def audit() -> Any:
        calls.append("audited")
        return session.record(AuditAction.EXPORT, record_type="case", details={"pages": 1})

    with pytest.raises(OSError):
        exports.write_audited(session, target, b"%PDF-1.4 test", audit)
    assert calls == ["audited"]  # the attempt is on record (the safe side)
    assert sorted(os.listdir(out_dir)) == ["upptagen"]  # no .part file left behind
    assert os.listdir(target) == ["fil.txt"]


def test_a_revised_assessment_prints_the_review_that_returned_the_earlier_version(
    session: Session, out_dir: Path
) -> None:
    case = make_case(session)
    first = make_assessment(session, case.id)  # an approved one, whose answers are reused
    draft = assessments.create_assessment(
        session,
        case.id,
        first.form_id,
        first.form_version,
        answers=first.answers,
        overrides=first.overrides,
    )
    submitted = assessments.submit(session, draft.id)
    returned, sent_back = assessment_rules.review(
        submitted,
        new_id(),
        Role.TEAM_LEAD,
        ReviewDecision.DISAGREE,
        ReviewOutcome.RETURN,
        "Motivera skyddsfaktorerna tydligare.",
        "Jörgen Ängström",
    )
    with session.vault.transaction():
        session.vault.assessments.put(returned)
        session.vault.reviews.put(sent_back)
    revised = assessments.revise(session, returned.id)  # the author goes on in a new draft
    assert revised.previous_id == returned.id
    out = out_dir / "reviderad.pdf"
    exports.export_assessment(session, revised.id, out, language="sv")
    text = " ".join(pdf_text(out))
    assert "Motivera skyddsfaktorerna tydligare." in text
    assert "En tidigare version, som återlämnades" in text
    assert "UTKAST – inte inlämnad" in text  # the revision is still a draft


def test_a_partial_export_left_by_a_killed_app_is_removed_by_the_next_export(
    session: Session, out_dir: Path
) -> None:
    # what a power cut between writing and renaming leaves: case content outside the vault
    stale = out_dir / ".fieldkit-export-k1ll3d.part"
    stale.write_bytes(b"%PDF-1.4 half a journal")
    old = time.time() - exports.STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    fresh = out_dir / ".fieldkit-export-running.part"  # another export writing right now
    fresh.write_bytes(b"%PDF-1.4 in progress")
    other = out_dir / "anteckningar.part"  # not ours: never touched
    other.write_bytes(b"user file")
    os.utime(other, (old, old))
    case = make_case(session)
    exports.export_journal(session, case.id, out_dir / "journal.pdf")
    assert not stale.exists()
    assert fresh.exists() and other.exists()
    assert (out_dir / "journal.pdf").is_file()
