"""Full-text search over the notes and cases on this laptop. Every search is logged, with its
query, as an audit event inside the vault (the query may name a person, so it never goes to a
log file)."""

from __future__ import annotations

import logging
from typing import Any

from fieldkit.domain.enums import AuditAction
from fieldkit.errors import N_, InvalidInput
from fieldkit.services.session import Session, audit, write

log = logging.getLogger(__name__)

MAX_QUERY = 500


def search(session: Session, query: str, limit: int = 50) -> list[Any]:
    """Ranked hits (``SearchHit``: record_type, record_id, case_id, snippet, rank)."""
    text = " ".join((query or "").split())
    if not text:
        raise InvalidInput(N_("Enter something to search for."))
    if len(text) > MAX_QUERY:
        raise InvalidInput(
            N_("The search is too long (at most {limit} characters)."), limit=MAX_QUERY
        )
    if limit < 1:
        raise InvalidInput(N_("The number of results must be at least 1."))
    with write(session) as vault:
        hits = list(vault.search.query(text, limit=limit))
        audit(session, AuditAction.SEARCH, details={"query": text, "hits": len(hits)})
    log.info("search: %d hit(s)", len(hits))
    return hits
