"""`fieldkit case show` counts kept work no editor offers (answers of an assessment no longer
on this laptop, entries that cannot be read) without printing it; `fieldkit case kept CASE`
lists everything kept for the case by id, `--show ID` prints one (a logged read of the case),
`--discard ID` removes that one only, and never without an id; `fieldkit assess discard-kept
ID` removes an assessment's kept answers. Real profile: SQLCipher vault and keyring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldkit.cli import main
from fieldkit.domain.enums import AuditAction, CaseType
from fieldkit.errors import ExitCode
from fieldkit.protocol.messages import RecordType
from fieldkit.services import assessments, cases, notes
from fieldkit.services.profile import open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"  # the folder fixture's passphrase
TYPED = "Elias berättade om en ny kontakt som han träffar i helgen"
NOTE_TEXT = "Samtal med mamman om helgen"
DAMAGED_TEXT = "Mamman ringde och var orolig över nätterna"


def seeded(folder: Path) -> dict[str, str]:
    """A case with journal text kept, answers of a removed assessment, answers kept for an
    existing draft, and an entry that cannot be read."""
    with open_session(folder, PASS) as s:
        case_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id
        work = notes.new_work_id()
        notes.keep_unsaved_note(s, case_id, {"text": NOTE_TEXT}, work_id=work)
        gone = assessments.create_assessment(s, case_id, "fk.vbe.concern")
        s.vault.purge_record(RecordType.ASSESSMENT, gone.id)
        assessments.keep_unsaved(s, gone.id, {"S3": TYPED}, written_on=gone)
        draft = assessments.create_assessment(s, case_id, "fk.vbe.concern")
        assessments.keep_unsaved(s, draft.id, {"S3": "utkastets text"})
        bad = notes.new_work_id()
        with s.vault.transaction():
            s.vault.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                (f"unsaved.note.{case_id}.{bad}", '{"content":{"text":"' + DAMAGED_TEXT),
            )
    return {"case": case_id, "work": work, "gone": gone.id, "draft": draft.id, "bad": bad}


def run(
    folder: Path, capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0, lang: str = "en"
) -> str:
    capsys.readouterr()
    try:
        got = main(["--lang", lang, "--data-dir", str(folder), *argv])
    except SystemExit as exc:  # a usage error, from the argument parser
        got = int(exc.code or 0)
    assert got == code
    out = capsys.readouterr()
    return out.out if "--json" in argv else out.out + out.err


def case_reads(folder: Path, case_id: str) -> int:
    with open_session(folder, PASS) as s:
        return sum(
            1
            for e in s.vault.audit.list()
            if e.case_id == case_id and e.action is AuditAction.CASE_READ
        )


def kept_ids(folder: Path, capsys: pytest.CaptureFixture[str], case_id: str) -> dict[str, str]:
    rows = json.loads(run(folder, capsys, "--json", "case", "kept", case_id))
    return {r["work_id"]: r["state"] for r in rows}


def test_case_show_counts_what_no_editor_offers_without_printing_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seeded(folder)
    text = run(folder, capsys, "case", "show", ids["case"])
    assert "Answers kept from 1 assessment(s) that are no longer on this laptop" in text
    assert "1 piece(s) of kept work could not be read" in text
    assert f"fieldkit case kept {ids['case']}" in text
    assert TYPED not in text and DAMAGED_TEXT not in text

    data = json.loads(run(folder, capsys, "--json", "case", "show", ids["case"]))
    stray = data["kept_answers_without_assessment"]
    assert [s["work_id"] for s in stray] == [ids["gone"]]
    assert stray[0]["form"].startswith("fk.vbe.concern@") and stray[0]["can_start_new_assessment"]
    assert [u["work_id"] for u in data["kept_unreadable"]] == [ids["bad"]]
    dumped = json.dumps(data, ensure_ascii=False)
    assert TYPED not in dumped and DAMAGED_TEXT not in dumped

    sv = run(folder, capsys, "case", "show", ids["case"], lang="sv")
    assert "som inte längre finns på den här datorn" in sv
    assert "kunde inte läsas" in sv


def test_case_kept_lists_by_id_shows_one_logged_and_discards_only_the_one_named(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seeded(folder)
    listing = run(folder, capsys, "case", "kept", ids["case"])
    for key in ("work", "gone", "draft", "bad"):
        assert ids[key] in listing
    assert TYPED not in listing and NOTE_TEXT not in listing and DAMAGED_TEXT not in listing
    assert kept_ids(folder, capsys, ids["case"]) == {
        ids["work"]: "new",
        ids["gone"]: "gone",
        ids["draft"]: "draft",
        ids["bad"]: "unreadable",
    }

    reads = case_reads(folder, ids["case"])
    assert TYPED in run(folder, capsys, "case", "kept", ids["case"], "--show", ids["gone"])
    assert DAMAGED_TEXT in run(folder, capsys, "case", "kept", ids["case"], "--show", ids["bad"])
    assert case_reads(folder, ids["case"]) == reads + 2

    # no id, or an id not kept for the case: refused, nothing goes
    run(folder, capsys, "case", "kept", ids["case"], "--discard", code=ExitCode.USAGE)
    out = run(
        folder, capsys, "case", "kept", ids["case"], "--discard", "x", code=ExitCode.NOT_FOUND
    )
    assert "Nothing is kept for the case under the id x" in out
    assert len(kept_ids(folder, capsys, ids["case"])) == 4

    out = run(folder, capsys, "case", "kept", ids["case"], "--discard", ids["bad"])
    assert "Discarded" in out
    run(folder, capsys, "case", "kept", ids["case"], "--discard", ids["gone"])
    assert kept_ids(folder, capsys, ids["case"]) == {ids["work"]: "new", ids["draft"]: "draft"}


def test_assess_discard_kept_needs_the_id_and_takes_only_that_assessments_answers(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seeded(folder)
    shown = run(folder, capsys, "assess", "show", ids["draft"])
    assert f"fieldkit assess discard-kept {ids['draft']}" in shown
    run(folder, capsys, "assess", "discard-kept", code=ExitCode.USAGE)
    run(folder, capsys, "assess", "discard-kept", ids["draft"])
    out = run(folder, capsys, "assess", "discard-kept", ids["draft"], code=ExitCode.NOT_FOUND)
    assert "No answers are kept for the assessment" in out
    run(folder, capsys, "assess", "discard-kept", ids["gone"])  # one no longer here, too
    assert kept_ids(folder, capsys, ids["case"]) == {ids["work"]: "new", ids["bad"]: "unreadable"}
