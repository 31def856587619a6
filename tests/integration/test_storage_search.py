"""Full-text search: Swedish text, prefixes, ranking, snippets, hostile input, purge."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.domain import journal
from fieldkit.domain.enums import CaseType
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.errors import InvalidInput
from fieldkit.storage import Vault


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", os.urandom(32))
    yield v
    v.close()


def case_with(vault: Vault, name: str = "Åsa Öberg", **fields: str) -> Case:
    person = Person(name=name)
    case = Case(
        person_id=person.id, case_type=CaseType.EXIT_SUPPORT, team_id="t1", owner_id="u1", **fields
    )
    with vault.transaction():
        vault.persons.put(person)
        vault.cases.put(case)
    return case


def note(vault: Vault, case: Case, text: str, place: str = "") -> JournalEntry:
    n = JournalEntry(case_id=case.id, author_id="u1", text=text, place=place)
    vault.notes.put(n)
    return n


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.record_id for h in hits]


def test_diacritics_and_case_are_folded(vault: Vault) -> None:
    case = case_with(vault)
    n = note(vault, case, "Följde med till högskolan i Malmö för ett studiebesök.")
    for q in ("hogskolan", "HÖGSKOLAN", "Hogskolan", "malmo", "foljde"):
        assert n.id in ids(vault.search.query(q)), q


def test_every_word_is_a_prefix_and_all_must_match(vault: Vault) -> None:
    case = case_with(vault)
    a = note(vault, case, "Samtal med mamman om skolgången.")
    b = note(vault, case, "Samtal med pappan om fritiden.")
    assert set(ids(vault.search.query("samt"))) == {a.id, b.id}
    assert ids(vault.search.query("samt skol")) == [a.id]
    assert ids(vault.search.query("samtal fritid")) == [b.id]
    assert vault.search.query("samtal polisen") == []


def test_place_is_searched(vault: Vault) -> None:
    case = case_with(vault)
    n = note(vault, case, "Kort avstämning.", place="Fritidsgården Rosengård")
    assert ids(vault.search.query("rosengard")) == [n.id]


def test_exact_spelling_ranks_above_folded_match(vault: Vault) -> None:
    case = case_with(vault, name="Bo Ek")
    folded = note(vault, case, "Han pratade om en hogskola i stan idag.")
    exact = note(vault, case, "Han pratade om en högskola i stan idag.")
    hits = vault.search.query("högskola")
    assert ids(hits)[:2] == [exact.id, folded.id]
    hits = vault.search.query("hogskola")
    assert ids(hits)[:2] == [folded.id, exact.id]


def test_more_relevant_notes_rank_first(vault: Vault) -> None:
    case = case_with(vault, name="Bo Ek")
    once = note(vault, case, "Pratade om många saker, bland annat körkort och jobb och familjen.")
    often = note(vault, case, "Körkort. Körkort är viktigt. Han vill ta körkort i vår.")
    hits = vault.search.query("körkort")
    assert ids(hits) == [often.id, once.id]
    assert hits[0].rank > hits[1].rank > 0


def test_snippet_highlights_the_match(vault: Vault) -> None:
    case = case_with(vault, name="Bo Ek")
    note(vault, case, "Vi träffades på biblioteket och pratade om sommarjobb.")
    (hit,) = vault.search.query("bibliotek")
    assert hit.record_type == "note" and hit.case_id == case.id
    assert "[biblioteket]" in hit.snippet
    (hit,) = vault.search.query("bibliotek", mark=("<b>", "</b>"))
    assert "<b>biblioteket</b>" in hit.snippet


def test_case_metadata_is_searched(vault: Vault) -> None:
    case = case_with(
        vault,
        name="Ingrid Åkesson",
        reference="VBE-2026-0042",
        summary="Oro för umgänge med äldre kamrater",
        district="Södra Innerstaden",
    )
    for q in ("akesson", "VBE 2026 0042", "0042", "umgange", "sodra inner"):
        hits = vault.search.query(q)
        assert [(h.record_type, h.record_id) for h in hits] == [("case", case.id)], q


def test_index_follows_edits_renames_and_purge(vault: Vault) -> None:
    case = case_with(vault, name="Olle Berg")
    n = note(vault, case, "Första versionen om fotboll.")
    vault.notes.put(journal.edit_draft(n, text="Andra versionen om innebandy."))
    assert vault.search.query("fotboll") == []
    assert ids(vault.search.query("innebandy")) == [n.id]
    person = vault.persons.get(case.person_id)
    vault.persons.put(dataclasses.replace(person, name="Olle Strand"))
    assert vault.search.query("berg") == []
    assert ids(vault.search.query("strand")) == [case.id]
    vault.cases.put(dataclasses.replace(case, summary="Flyttat till Lund"))
    assert ids(vault.search.query("lund")) == [case.id]

    vault.purge_case(case.id)
    for q in ("innebandy", "strand", "lund"):
        assert vault.search.query(q) == []
    assert vault.search.check()
    # the words are gone from the index itself, not just unreachable
    vault.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, notes_fts, 'row')")
    vault.execute("CREATE VIRTUAL TABLE temp.cv USING fts5vocab(main, cases_fts, 'row')")
    assert vault.query("SELECT count(*) FROM temp.v")[0][0] == 0
    assert vault.query("SELECT count(*) FROM temp.cv")[0][0] == 0


def test_search_within_given_cases(vault: Vault) -> None:
    mine, other = case_with(vault, name="A B"), case_with(vault, name="C D")
    a = note(vault, mine, "möte om boende")
    note(vault, other, "möte om boende")
    assert ids(vault.search.query("boende", case_ids=[mine.id])) == [a.id]
    assert vault.search.query("boende", case_ids=[]) == []


def test_pulled_case_before_its_person_is_indexed_with_the_name(vault: Vault) -> None:
    person = Person(name="Nora Falk")
    case = Case(person_id=person.id, case_type=CaseType.CONSULTATION, team_id="t", owner_id="u")
    with vault.transaction():
        vault.cases.put(case)  # a pull page may bring the case first
        vault.persons.put(person)
    assert ids(vault.search.query("falk")) == [case.id]
    assert vault.search.check()


HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "**",
    "(",
    ")",
    "()",
    "(((",
    "NEAR",
    "NEAR(a b)",
    "a NEAR/2 b",
    "AND",
    "OR",
    "NOT",
    "a OR b",
    "a AND NOT b",
    "-a",
    "^a",
    "text:hemligt",
    "{text place}: a",
    "a*b",
    '"unterminated',
    "'; DROP TABLE notes; --",
    "1=1 OR '1'='1'",
    "%",
    "_",
    "\\",
    "\x00",
    "a\x00b",
    "🙂",
    "ö" * 400,
    "  \t\n ",
    "",
    "a " * 13,
    "x" * 501,
    "SELECT * FROM sqlite_master",
    "rank MATCH 'x'",
    "); DELETE FROM audit_events; --",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_crash(vault: Vault, query: str) -> None:
    case = case_with(vault)
    note(vault, case, "DROP TABLE notes är bara text här, a och b och NEAR och OR.")
    try:
        hits = vault.search.query(query)
    except InvalidInput as err:
        assert str(err)  # a clear message, never a traceback
    else:
        assert isinstance(hits, list)
    assert vault.notes.count() == 1
    assert vault.query("SELECT count(*) FROM sqlite_master WHERE name = 'notes'")[0][0] == 1


def test_operators_are_plain_words(vault: Vault) -> None:
    case = case_with(vault)
    n = note(vault, case, "DROP TABLE notes är bara text här, a och b och NEAR och OR.")
    assert ids(vault.search.query("'; DROP TABLE notes; --")) == [n.id]
    assert ids(vault.search.query("NEAR(OR)")) == [n.id]


@pytest.mark.parametrize("query", ["", "   ", "!!!", "()", '"*"'])
def test_empty_queries_say_so(vault: Vault, query: str) -> None:
    with pytest.raises(InvalidInput):
        vault.search.query(query)


def test_whole_words_fill_the_page_before_prefixes(vault: Vault) -> None:
    case = case_with(vault, name="Bo Ek")
    whole = [
        note(vault, case, f"Pratade länge om skolan och om läxorna, dag {i}.") for i in range(5)
    ]
    prefix_only = note(vault, case, "Skolans kurator.")
    # enough whole-word hits for the page: those are the answer
    hits = vault.search.query("skolan", limit=2)
    assert len(hits) == 2 and set(ids(hits)) <= {n.id for n in whole}
    # a page the whole words cannot fill also gets the prefix matches
    assert prefix_only.id in ids(vault.search.query("skolan", limit=50))


def test_signing_a_note_does_not_rewrite_its_search_terms(vault: Vault) -> None:
    """Signing changes the state, not the text: the index keeps the entry as it is (rewriting it
    flushed a new FTS5 segment on every signature, most of the cost of a sign), and the signed
    entry is still found by its words."""
    case = case_with(vault)
    with vault.transaction():
        draft = note(vault, case, "Samtal med mamma om läxhjälp", place="Hemmet")
    segments = vault.query("SELECT count(*) FROM notes_fts_data")[0][0]
    with vault.transaction():
        vault.notes.put(dataclasses.replace(journal.sign(draft, "u1"), version=draft.version + 1))
    assert vault.query("SELECT count(*) FROM notes_fts_data")[0][0] == segments
    assert ids(vault.search.query("läxhjälp")) == [draft.id]
    # a changed text (a draft edited) is re-indexed: old words gone, new words found
    with vault.transaction():
        other = note(vault, case, "Första utkastet")
        vault.notes.put(dataclasses.replace(other, text="Andra versionen", version=2))
    assert ids(vault.search.query("utkastet")) == []
    assert ids(vault.search.query("versionen")) == [other.id]
