"""Journal text kept for a case is never replaced by a different piece of work: each piece of
work the editor keeps (a note being written, from the moment the editor starts it) has its own
entry in the real vault's meta table, beside the ones kept before, and they are offered one at
a time, oldest first. The one entry per case that earlier releases kept is still read, offered
first and left alone by new work. Keeping the same piece of work again updates its own entry
only; the editor's save removes its own entry only; a process killed after each keep loses
neither. ``fieldkit case show`` counts them. Real SQLCipher vault and keyring."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fieldkit.cli import main
from fieldkit.domain.enums import CaseType
from fieldkit.domain.ids import utcnow
from fieldkit.services import cases, notes
from fieldkit.services.profile import Session, open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"  # the folder fixture's passphrase
OLDER = "Elias berättade i går att han har slutat gå till träningen."
NEWER = "Mamma ringde i dag: Elias har inte kommit hem sedan i fredags."


def fields(text: str) -> dict[str, object]:
    return {"text": text, "contact_type": "phone", "place": "", "present": []}


def a_case(s: Session) -> str:
    return cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id


def kept_as_before(
    s: Session,
    case_id: str,
    text: str,
    draft_id: str | None = None,
    kept_at: dt.datetime | None = None,
) -> None:
    """Text kept as the previous release kept it: one entry per case, under the case's key."""
    content = {**fields(text), "draft_id": draft_id, "link": None}
    when = (kept_at or utcnow()).isoformat()
    with s.vault.transaction():
        s.vault.meta.set(
            f"unsaved.note.{case_id}",
            {"case_id": case_id, "kept_at": when, "content": content},
        )


def kept_texts(s: Session, case_id: str) -> list[str]:
    """The texts offered back for the case, in order."""
    return [k.text for k in notes.unsaved_notes(s, case_id)]


def stored_texts(s: Session, case_id: str) -> list[str]:
    """The texts kept for the case in the vault's meta table, as stored (oldest first)."""
    entries = [
        (e.get("first_kept_at") or e["kept_at"], key, e["content"]["text"])
        for key, e in s.vault.meta.items("unsaved.note.")
        if key == f"unsaved.note.{case_id}" or key.startswith(f"unsaved.note.{case_id}.")
    ]
    return [text for _when, _key, text in sorted(entries)]


def test_new_work_is_kept_beside_text_kept_by_the_previous_release(worker: Session) -> None:
    case_id = a_case(worker)
    kept_as_before(worker, case_id, OLDER)
    # she typed a new note before the older text was offered, and its save failed
    assert notes.keep_unsaved_note(worker, case_id, fields(NEWER), work_id="ny") is True
    assert kept_texts(worker, case_id) == [OLDER, NEWER]  # both, the oldest first
    older, newer = notes.unsaved_notes(worker, case_id)
    assert (older.work_id, newer.work_id) == ("", "ny")
    assert notes.unsaved_note(worker, case_id) == older  # the one offered first

    # the same piece of work kept again (the lock after more typing) updates its own entry
    notes.keep_unsaved_note(worker, case_id, fields(NEWER + " Polisen är kontaktad."), work_id="ny")
    assert kept_texts(worker, case_id) == [OLDER, NEWER + " Polisen är kontaktad."]

    # her new note saved: its own entry goes, the older text stays to be offered
    notes.add_note(worker, case_id, NEWER, clears_kept=True, work_id="ny")
    assert kept_texts(worker, case_id) == [OLDER]


def test_a_saved_new_note_no_longer_takes_older_kept_text_with_it(worker: Session) -> None:
    case_id = a_case(worker)
    kept_as_before(worker, case_id, OLDER)
    notes.add_note(worker, case_id, NEWER, clears_kept=True, work_id="annan")
    assert kept_texts(worker, case_id) == [OLDER]


def test_pieces_of_work_without_a_name_are_each_kept(worker: Session) -> None:
    case_id = a_case(worker)
    notes.keep_unsaved_note(worker, case_id, fields(OLDER))
    notes.keep_unsaved_note(worker, case_id, fields(NEWER))
    assert stored_texts(worker, case_id) == [OLDER, NEWER]
    assert kept_texts(worker, case_id) == [OLDER, NEWER]


def test_other_work_on_the_same_draft_stays_through_the_editors_save(worker: Session) -> None:
    case_id = a_case(worker)
    draft = notes.add_note(worker, case_id, "Första versionen.", contact_type="phone")
    kept_as_before(worker, case_id, OLDER, draft_id=draft.id)  # from a session before
    # this session's editor writes on the same draft; its text equal to the draft keeps
    # nothing of its own and leaves the older text alone
    same = fields("Första versionen.")
    assert not notes.keep_unsaved_note(worker, case_id, same, draft_id=draft.id, work_id="nu")
    saved = notes.update_draft(
        worker, draft.id, text=NEWER, contact_type="phone", clears_kept=True, work_id="nu"
    )
    (older,) = notes.unsaved_notes(worker, case_id)
    assert older.text == OLDER and older.draft_id == draft.id and older.restorable
    assert older.changed_at == saved.updated_at  # offered with "the draft changed since"


def test_a_draft_saved_in_the_millisecond_of_the_keep_counts_as_changed(
    worker: Session,
) -> None:
    """Times are kept to the millisecond, so a save in the same one as the older release's
    keep cannot be told from no save: the notice says the draft changed (a needless warning),
    never the other way round (restoring over newer text unwarned)."""
    case_id = a_case(worker)
    draft = notes.add_note(worker, case_id, "Första versionen.", contact_type="phone")
    saved = notes.update_draft(worker, draft.id, text=NEWER, contact_type="phone")
    kept_as_before(worker, case_id, OLDER, draft_id=draft.id, kept_at=saved.updated_at)
    (older,) = notes.unsaved_notes(worker, case_id)
    assert older.text == OLDER and older.changed_at == saved.updated_at


def test_discarding_one_piece_of_work_leaves_the_others(worker: Session) -> None:
    case_id = a_case(worker)
    kept_as_before(worker, case_id, OLDER)
    notes.keep_unsaved_note(worker, case_id, fields(NEWER), work_id="ny")
    notes.discard_unsaved_note(worker, case_id, "")
    assert kept_texts(worker, case_id) == [NEWER]
    with pytest.raises(ValueError):
        notes.discard_unsaved_note(worker, case_id, "../x")  # never another key
    assert kept_texts(worker, case_id) == [NEWER]


KEEP_AND_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from fieldkit.services import notes
    from fieldkit.services.profile import open_session

    folder, case_id = sys.argv[1:3]
    text = sys.stdin.read()
    session = open_session(folder, os.environ["FIELDKIT_PASSPHRASE"]).__enter__()
    fields = {"text": text, "contact_type": "phone", "place": "", "present": []}
    assert notes.keep_unsaved_note(session, case_id, fields)
    os.kill(os.getpid(), signal.SIGKILL)  # the laptop dies right after the keep
    """
)


def keep_and_die(folder: Path, case_id: str, text: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KEEP_AND_DIE, str(folder), case_id],
        input=text.encode(),
        env={**os.environ, "FIELDKIT_PASSPHRASE": PASS},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -9, done.stderr.decode(errors="replace")[-2000:]


def test_a_process_killed_after_each_keep_loses_neither(folder: Path) -> None:
    with open_session(folder, PASS) as s:
        case_id = a_case(s)
    keep_and_die(folder, case_id, OLDER)
    keep_and_die(folder, case_id, NEWER)  # before the older text was ever offered
    with open_session(folder, PASS) as s:
        assert stored_texts(s, case_id) == [OLDER, NEWER]
        assert kept_texts(s, case_id) == [OLDER, NEWER]


def show(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str, lang: str = "en") -> str:
    capsys.readouterr()
    assert main(["--lang", lang, "--data-dir", str(folder), *extra]) == 0
    return capsys.readouterr().out


def test_case_show_counts_the_kept_texts_without_printing_them(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_session(folder, PASS) as s:
        case_id = a_case(s)
        kept_as_before(s, case_id, OLDER)
        notes.keep_unsaved_note(s, case_id, fields(NEWER))
        oldest = notes.unsaved_notes(s, case_id)[0]
    text = show(folder, capsys, "case", "show", case_id)
    assert "2 unsaved journal texts are kept for this case" in text
    assert OLDER not in text and NEWER not in text
    data = json.loads(show(folder, capsys, "--json", "case", "show", case_id))
    assert len(data["unsaved_notes"]) == 2
    assert data["unsaved_note"]["kept_at"] == oldest.kept_at.isoformat()  # type: ignore[union-attr]
    assert OLDER not in json.dumps(data, ensure_ascii=False)
    sv = show(folder, capsys, "case", "show", case_id, lang="sv")
    assert "2 osparade journaltexter har bevarats för det här ärendet" in sv
