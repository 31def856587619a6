"""Full-text search over journal entries (text, place) and case metadata (reference, person
name, summary, district) with SQLite FTS5.

- Tokenizer ``unicode61 remove_diacritics 2``: case- and diacritic-insensitive, so "hogskola"
  finds "högskola" (people type fast in the field, on keyboards without å/ä/ö). In Swedish
  å/ä/ö are letters of their own, so hits that contain the words as typed, diacritics
  included, are ranked above hits that only match once diacritics are folded.
- Every word is a quoted prefix (``"term"*``), all words must match; when the words as whole
  words already fill the page (2 x limit hits), those are taken without the prefix expansion,
  which costs time in proportion to the vault for common prefixes. The MATCH expression is
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


# Ranking cost must not grow with the vault: bm25 is computed for at most this many of the
# newest matching rows, and the snippet only for the rows returned.
CANDIDATE_WINDOW = 2000

# Phase 1: the newest matches in rowid order (FTS5 walks that natively and stops early), with
# bm25; phase 2: the best of those. Only then snippets (for the chosen rows, within their rowid
# range) and the rows themselves.
TOP_SQL = """
WITH cand AS (
    SELECT rowid AS rid, bm25({fts}, {weights}) AS score FROM {fts}
    WHERE {fts} MATCH :q {scope}
    ORDER BY rowid DESC LIMIT :window)
SELECT rid, score FROM cand ORDER BY score LIMIT :fetch
"""
SNIPPET_SQL = """
SELECT rowid, snippet({fts}, -1, :o, :c, '…', 16) FROM {fts}
WHERE {fts} MATCH :q AND rowid >= :lo AND +rowid IN (SELECT value FROM json_each(:ids))
"""
NOTE_ROWS = """
SELECT rowid, id, case_id, text || ' ' || place FROM notes
WHERE rowid IN (SELECT value FROM json_each(:ids))
"""
CASE_ROWS = """
SELECT c.rowid, c.id, c.id, c.reference || ' ' || coalesce(p.name, '') || ' ' || c.summary
       || ' ' || c.district
FROM cases c LEFT JOIN persons p ON p.id = c.person_id
WHERE c.rowid IN (SELECT value FROM json_each(:ids))
"""
SCOPES = {
    "notes_fts": "AND rowid IN (SELECT n.rowid FROM notes n "
    "WHERE n.case_id IN (SELECT value FROM json_each(:scope)))",
    "cases_fts": "AND rowid IN (SELECT c.rowid FROM cases c "
    "WHERE c.id IN (SELECT value FROM json_each(:scope)))",
}
SOURCES = (
    ("note", "notes_fts", "1.0, 0.5", NOTE_ROWS),
    ("case", "cases_fts", "2.0, 3.0, 1.0, 1.0", CASE_ROWS),
)


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
        whole_words = " ".join(f'"{w}"' for w in words)
        limit = max(1, min(int(limit), 500))
        fetch = limit * 2
        params: dict[str, object] = {
            "o": mark[0],
            "c": mark[1],
            "window": CANDIDATE_WINDOW,
            "fetch": fetch,
        }
        if case_ids is not None:
            params["scope"] = json.dumps(list(case_ids))
        hits: list[SearchHit] = []
        for kind, fts, weights, rows_sql in SOURCES:
            scope = SCOPES[fts] if case_ids is not None else ""
            top_sql = TOP_SQL.format(fts=fts, weights=weights, scope=scope)
            # Whole words first (one doclist each: cheap); if they do not fill the page, every
            # word as a prefix too (FTS5 merges the doclists of all terms with the prefix).
            q = whole_words
            top = self.vault.query(top_sql, {**params, "q": q})
            if len(top) < fetch:
                q = expr
                top = self.vault.query(top_sql, {**params, "q": q})
            if not top:
                continue
            ids = json.dumps([rid for rid, _ in top])
            snippets = dict(
                self.vault.query(
                    SNIPPET_SQL.format(fts=fts),
                    {**params, "q": q, "ids": ids, "lo": min(rid for rid, _ in top)},
                )
            )
            rows = {r[0]: r[1:] for r in self.vault.query(rows_sql, {"ids": ids})}
            for rid, score in top:
                if rid not in rows:
                    continue
                record_id, case_id, body = rows[rid]
                relevance = -float(score) * _boost(words, body or "")
                hits.append(SearchHit(kind, record_id, case_id, snippets.get(rid) or "", relevance))
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
