"""Full-text search over journal entries (text, place) and case metadata (reference, person
name, summary, district) with SQLite FTS5.

- Tokenizer ``unicode61 remove_diacritics 2``: case- and diacritic-insensitive, so "hogskola"
  finds "högskola" (people type fast in the field, on keyboards without å/ä/ö). In Swedish
  å/ä/ö are letters of their own, so hits that contain the words as typed, diacritics
  included, are ranked above hits that only match once diacritics are folded.
- Every word is a quoted prefix (``"term"*``), all words must match. The MATCH expression is
  built from word tokens only and passed as a bound parameter: user input is never part of the
  SQL, and FTS5 operators typed by the user (quotes, NEAR, *, parentheses, AND/OR/NOT, ^, :)
  are just text.
- Results are ranked by bm25 (then the exact-spelling boost) and carry a ``snippet()`` with the
  matches between ``mark`` strings.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fieldkit.errors import N_, InvalidInput

if TYPE_CHECKING:
    from fieldkit.storage.vault import Vault

WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
MAX_QUERY_CHARS = 500
MARK = ("[", "]")
EXACT_BOOST = 0.5  # each query word found as typed (diacritics included) adds 50 % to the score


@dataclass(frozen=True)
class SearchHit:
    record_type: str  # "note" or "case"
    record_id: str
    case_id: str
    snippet: str
    rank: float  # higher is more relevant


def match_expression(text: str) -> tuple[str, list[str]]:
    """The FTS5 MATCH expression for what the user typed, and the words in it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(N_("Type at least one word to search for."))
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(
            N_("The search text is too long (at most {limit} characters)."), limit=MAX_QUERY_CHARS
        )
    words = [w for w in WORD_RE.findall(unicodedata.normalize("NFC", text)) if w.strip("_")]
    if not words:
        raise InvalidInput(
            N_("The search has no words in it; type letters or digits."),
        )
    if len(words) > MAX_TERMS:
        raise InvalidInput(N_("Search for at most {limit} words at a time."), limit=MAX_TERMS)
    # a word token holds no double quote, so it cannot break out of its quoted string
    return " ".join(f'"{w}"*' for w in words), words


def _boost(words: list[str], haystack: str) -> float:
    folded = unicodedata.normalize("NFC", haystack).casefold()
    exact = sum(1 for w in words if w.casefold() in folded)
    return 1.0 + EXACT_BOOST * exact


class SearchRepository:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def query(
        self,
        text: str,
        limit: int = 50,
        case_ids: Iterable[str] | None = None,
        *,
        mark: tuple[str, str] = MARK,
    ) -> list[SearchHit]:
        """Notes and cases matching every word of ``text`` (as prefixes), best first.
        ``case_ids`` restricts the search to those cases (need to know)."""
        expr, words = match_expression(text)
        limit = max(1, min(int(limit), 500))
        fetch = limit * 3
        scope = ""
        params_scope: list[str] = []
        if case_ids is not None:
            scope = " AND {col} IN (SELECT value FROM json_each(?))"
            params_scope = [json.dumps(list(case_ids))]
        note_rows = self.vault.query(
            "SELECT n.id, n.case_id, snippet(notes_fts, -1, ?, ?, '…', 16), "
            "bm25(notes_fts, 1.0, 0.5) AS score, n.text, n.place "
            "FROM notes_fts JOIN notes n ON n.rowid = notes_fts.rowid "
            "WHERE notes_fts MATCH ?" + scope.format(col="n.case_id") + " ORDER BY score LIMIT ?",
            [mark[0], mark[1], expr, *params_scope, fetch],
        )
        case_rows = self.vault.query(
            "SELECT c.id, c.id, snippet(cases_fts, -1, ?, ?, '…', 16), "
            "bm25(cases_fts, 2.0, 3.0, 1.0, 1.0) AS score, "
            "cases_fts.reference || ' ' || cases_fts.person_name || ' ' || cases_fts.summary "
            "|| ' ' || cases_fts.district, '' "
            "FROM cases_fts JOIN cases c ON c.rowid = cases_fts.rowid "
            "WHERE cases_fts MATCH ?" + scope.format(col="c.id") + " ORDER BY score LIMIT ?",
            [mark[0], mark[1], expr, *params_scope, fetch],
        )
        hits = []
        for kind, rows in (("case", case_rows), ("note", note_rows)):
            for rid, case_id, snippet, score, body, place in rows:
                relevance = -float(score) * _boost(words, f"{body} {place}")
                hits.append(SearchHit(kind, rid, case_id, snippet or "", relevance))
        hits.sort(key=lambda h: (-h.rank, h.record_type, h.record_id))
        return hits[:limit]

    def rebuild(self) -> None:
        """Rebuild both indexes from their content (repair tool)."""
        with self.vault.transaction():
            self.vault.execute("INSERT INTO notes_fts(notes_fts) VALUES ('rebuild')")
            self.vault.execute("INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')")

    def check(self) -> bool:
        """FTS5 integrity-check of both indexes against their content."""
        try:
            self.vault.execute(
                "INSERT INTO notes_fts(notes_fts, rank) VALUES ('integrity-check', 1)"
            )
            self.vault.execute(
                "INSERT INTO cases_fts(cases_fts, rank) VALUES ('integrity-check', 1)"
            )
        except Exception:
            return False
        return True
