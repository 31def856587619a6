"""The knowledge library: guidance documents published by the municipality and pulled by sync
(read-only on the laptop)."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fieldkit.errors import N_, InvalidInput, NotFound
from fieldkit.services.session import Session


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    body_markdown: str
    version: int
    published_at: dt.datetime | str | None
    tags: tuple[str, ...] = field(default_factory=tuple)


def _document(row: Any) -> Document:
    get = row.get if isinstance(row, dict) else (lambda k, d=None: getattr(row, k, d))
    published = get("published_at")
    if isinstance(published, str):
        with contextlib.suppress(ValueError):
            published = dt.datetime.fromisoformat(published.replace("Z", "+00:00"))
    return Document(
        id=str(get("id")),
        title=str(get("title", "") or ""),
        body_markdown=str(get("body_markdown", "") or ""),
        version=int(get("version", 0) or 0),
        published_at=published,
        tags=tuple(get("tags", ()) or ()),
    )


def _rows(session: Session) -> list[Any]:
    repo = session.vault.documents
    return list(repo.list() if hasattr(repo, "list") else repo.all())


def list_documents(session: Session, tag: str | None = None) -> list[Document]:
    """Every document, by title; only those with ``tag`` when given."""
    docs = [_document(r) for r in _rows(session)]
    if tag:
        wanted = tag.casefold()
        docs = [d for d in docs if any(t.casefold() == wanted for t in d.tags)]
    return sorted(docs, key=lambda d: d.title.casefold())


def get_document(session: Session, document_id: str) -> Document:
    row = session.vault.documents.get(document_id)
    if row is None:
        raise NotFound(
            N_("No guidance document with id {document_id} on this laptop."),
            N_("Sync to fetch the latest library."),
            document_id=document_id,
        )
    return _document(row)


def search_documents(session: Session, query: str) -> list[Document]:
    """Documents whose title, tags or text contain every word of the query (case- and
    accent-insensitive enough for Swedish: casefold)."""
    words = [w.casefold() for w in (query or "").split()]
    if not words:
        raise InvalidInput(N_("Enter something to search for."))
    found = []
    for doc in list_documents(session):
        haystack = " ".join((doc.title, " ".join(doc.tags), doc.body_markdown)).casefold()
        if all(w in haystack for w in words):
            found.append(doc)
    return found
