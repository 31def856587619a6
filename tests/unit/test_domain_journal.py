"""Journal entries: draft -> signed; a signed entry never changes; corrections, supplements and
the person's own view are new entries linked to a signed entry of the same case."""

from __future__ import annotations

import datetime as dt

import pytest

from fieldkit.domain import journal
from fieldkit.domain.enums import ContactType, LinkKind, NoteState
from fieldkit.domain.records import JournalEntry, replace
from fieldkit.errors import InvalidInput, Refused

CASE = "0190f0aa-0000-7000-8000-00000000c001"
OTHER_CASE = "0190f0aa-0000-7000-8000-00000000c002"
AUTHOR = "0190f0aa-0000-7000-8000-0000000000a1"
COLLEAGUE = "0190f0aa-0000-7000-8000-0000000000a2"
AT = dt.datetime(2026, 3, 4, 14, 30, tzinfo=dt.UTC)


def draft(**fields: object) -> JournalEntry:
    return JournalEntry(
        case_id=fields.pop("case_id", CASE),  # type: ignore[arg-type]
        author_id=AUTHOR,
        text="Träffade Y vid fritidsgården. Pratade om skolan.",
        **fields,  # type: ignore[arg-type]
    )


def signed(**fields: object) -> JournalEntry:
    return journal.sign(draft(**fields), AUTHOR, at=AT)


def test_a_new_entry_is_a_draft_that_can_be_edited() -> None:
    entry = draft()
    assert entry.state is NoteState.DRAFT and not entry.is_signed
    edited = journal.edit_draft(
        entry,
        text="Ny text",
        place="Fritidsgården",
        contact_type=ContactType.OUTREACH,
        present=("Y", "fältassistent"),
    )
    assert (edited.text, edited.place, edited.contact_type) == (
        "Ny text",
        "Fritidsgården",
        ContactType.OUTREACH,
    )
    assert edited.id == entry.id and edited.state is NoteState.DRAFT


@pytest.mark.parametrize(
    "field", ["author_id", "case_id", "state", "signed_by", "content_hash", "link_to"]
)
def test_a_draft_edit_cannot_touch_who_where_or_state(field: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be edited"):
        journal.edit_draft(draft(), **{field: "x"})


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_an_entry_needs_text(text: str) -> None:
    with pytest.raises(InvalidInput, match="needs text"):
        journal.edit_draft(draft(), text=text)
    with pytest.raises(InvalidInput, match="needs text"):
        journal.sign(replace(draft(), text=text), AUTHOR)


def test_an_overlong_entry_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidInput, match=f"{journal.MAX_TEXT + 1} characters"):
        journal.edit_draft(draft(), text="x" * (journal.MAX_TEXT + 1))


def test_signing_seals_the_entry() -> None:
    entry = signed()
    assert entry.state is NoteState.SIGNED and entry.is_signed
    assert (entry.signed_by, entry.signed_at) == (AUTHOR, AT)
    assert entry.content_hash == journal.content_hash(entry)
    assert journal.verify_signature(entry)


@pytest.mark.parametrize(
    "change",
    [
        {"text": "ändrad"},
        {"event_time": AT - dt.timedelta(days=1)},
        {"place": "annan plats"},
        {"present": ("någon annan",)},
        {"signed_by": COLLEAGUE},
        {"case_id": OTHER_CASE},
    ],
)
def test_a_signed_entry_changed_behind_the_rules_fails_verification(change: dict) -> None:
    assert not journal.verify_signature(replace(signed(), **change))


def test_a_draft_has_no_valid_signature() -> None:
    assert not journal.verify_signature(draft())


def test_a_signed_entry_never_changes() -> None:
    entry = signed()
    with pytest.raises(Refused, match="signed journal entry cannot be changed") as caught:
        journal.edit_draft(entry, text="rättad text")
    assert "correction or a supplement" in str(caught.value)


def test_an_entry_is_signed_once_and_only_by_its_author() -> None:
    with pytest.raises(Refused, match="already signed"):
        journal.sign(signed(), AUTHOR)
    with pytest.raises(Refused, match="Only the author"):
        journal.sign(draft(), COLLEAGUE)


@pytest.mark.parametrize("kind", list(LinkKind))
def test_linked_entries_point_at_a_signed_entry_of_the_same_case(kind: LinkKind) -> None:
    original = signed()
    linked = journal.new_linked_entry(original, kind, COLLEAGUE, "Rättelse: det var tisdag.")
    assert (linked.link_kind, linked.link_to, linked.case_id) == (kind, original.id, CASE)
    assert linked.state is NoteState.DRAFT and linked.id != original.id
    assert linked.author_id == COLLEAGUE
    assert journal.verify_signature(original)  # the original is untouched and legible
    assert journal.verify_signature(journal.sign(linked, COLLEAGUE, at=AT))


def test_a_draft_cannot_be_corrected_only_edited() -> None:
    with pytest.raises(Refused, match="Only a signed entry") as caught:
        journal.new_linked_entry(draft(), LinkKind.CORRECTION, AUTHOR, "rättelse")
    assert "Edit the draft" in str(caught.value)


def test_a_link_must_stay_within_the_case() -> None:
    with pytest.raises(Refused, match="same case"):
        journal.check_link(LinkKind.SUPPLEMENT, signed(), OTHER_CASE)
    journal.check_link(LinkKind.SUPPLEMENT, signed(), CASE)


def test_a_link_needs_both_a_kind_and_a_target() -> None:
    with pytest.raises(InvalidInput, match="needs a kind"):
        journal.check_link(None, signed(), CASE)
    with pytest.raises(InvalidInput, match="not found"):
        journal.check_link(LinkKind.CORRECTION, None, CASE)
    journal.check_link(None, None, CASE)  # an ordinary entry


def test_a_linked_entry_needs_text() -> None:
    with pytest.raises(InvalidInput, match="needs text"):
        journal.new_linked_entry(signed(), LinkKind.OWN_VIEW, AUTHOR, "  ")
