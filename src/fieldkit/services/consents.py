"""Consents (samtycke) and disclosures (utlämnanden). A disclosure without an active consent
for its recipient or a stated legal basis is refused unless it carries a written justification
(fieldkit.domain.consent)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from fieldkit.domain import consent as rules
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import ConsentGiver, LegalBasis, RecipientKind
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Consent, Disclosure
from fieldkit.errors import N_, InvalidInput, NotFound
from fieldkit.protocol.messages import MutationName
from fieldkit.services.session import (
    Session,
    coerce_enum,
    parse_date,
    parse_datetime,
    queue,
    require_case,
    write,
)

log = logging.getLogger(__name__)


def _recipients(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(dict.fromkeys(r.strip() for r in value if r and r.strip()))


def record_consent(
    session: Session,
    case_id: str,
    *,
    given_by: ConsentGiver | str,
    given_by_name: str,
    recipients: Iterable[str] | str,
    information: str,
    purpose: str,
    valid_from: dt.date | str | None = None,
    valid_until: dt.date | str | None = None,
    written: bool = True,
    person_id: str | None = None,
) -> Consent:
    case = require_case(session, case_id)
    giver = coerce_enum(ConsentGiver, given_by, N_("consent giver"))
    if not given_by_name.strip():
        raise InvalidInput(N_("Write who gave the consent."))
    me = session.identity
    now = utcnow()
    consent = Consent(
        case_id=case.id,
        person_id=person_id or case.person_id,
        given_by=giver,
        given_by_name=given_by_name.strip(),
        recipients=_recipients(recipients),
        information=information.strip(),
        purpose=purpose.strip(),
        valid_from=parse_date(valid_from, N_("valid from")) or now.date(),
        valid_until=parse_date(valid_until, N_("valid until")),
        written=written,
        author_id=me.user_id,
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    rules.check_consent(consent)
    with write(session) as vault:
        vault.consents.put(consent)
        queue(session, MutationName.CONSENT_RECORD, {"consent": to_dict(consent)})
    log.info("consent recorded")
    return consent


def _require_consent(session: Session, consent_id: str) -> Consent:
    consent = session.vault.consents.get(consent_id)
    if consent is None:
        raise NotFound(N_("No consent with id {consent_id} on this laptop."), consent_id=consent_id)
    return consent  # type: ignore[no-any-return]


def withdraw_consent(session: Session, consent_id: str, reason: str = "") -> Consent:
    consent = _require_consent(session, consent_id)
    withdrawn = rules.withdraw(consent, reason.strip())
    with write(session) as vault:
        vault.consents.put(withdrawn)
        queue(
            session,
            MutationName.CONSENT_WITHDRAW,
            {
                "consent_id": consent.id,
                "withdrawn_at": to_dict(withdrawn)["withdrawn_at"],
                "reason": withdrawn.withdrawn_reason,
            },
        )
    log.info("consent withdrawn")
    return withdrawn


def list_consents(session: Session, case_id: str) -> list[Consent]:
    require_case(session, case_id)
    return list(session.vault.consents.list_for_case(case_id))


def _build_disclosure(
    session: Session,
    case_id: str,
    recipient: str,
    recipient_kind: RecipientKind | str,
    information: str,
    legal_basis: LegalBasis | str | None,
    disclosed_at: dt.datetime | str | None,
    consent_id: str | None,
    justification: str,
) -> tuple[Disclosure, list[Consent]]:
    case = require_case(session, case_id)
    if not recipient.strip():
        raise InvalidInput(N_("Write who received the information."))
    if not information.strip():
        raise InvalidInput(N_("Write which information was disclosed."))
    kind = coerce_enum(RecipientKind, recipient_kind, N_("recipient kind"))
    basis = coerce_enum(LegalBasis, legal_basis, N_("legal basis")) if legal_basis else None
    when = parse_datetime(disclosed_at, N_("disclosure time")) or utcnow()
    consents = list(session.vault.consents.list_for_case(case.id))
    if basis is LegalBasis.CONSENT and consent_id is None:
        covering = rules.covering_consent(consents, recipient, when.date())
        consent_id = covering.id if covering else None
    me = session.identity
    now = utcnow()
    disclosure = Disclosure(
        case_id=case.id,
        person_id=case.person_id,
        recipient=recipient.strip(),
        recipient_kind=kind,
        information=information.strip(),
        legal_basis=basis,
        disclosed_at=when,
        consent_id=consent_id,
        justification=justification.strip(),
        author_id=me.user_id,
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    return disclosure, consents


def disclosure_warnings(
    session: Session,
    case_id: str,
    recipient: str,
    recipient_kind: RecipientKind | str = RecipientKind.OTHER,
    legal_basis: LegalBasis | str | None = None,
    disclosed_at: dt.datetime | str | None = None,
) -> list[str]:
    """What a disclosure would be warned about (message ids; translate with ``_``), so a form
    can ask for a justification before saving."""
    disclosure, consents = _build_disclosure(
        session, case_id, recipient, recipient_kind, "-", legal_basis, disclosed_at, None, ""
    )
    return rules.disclosure_warnings(disclosure, consents)


def record_disclosure(
    session: Session,
    case_id: str,
    *,
    recipient: str,
    recipient_kind: RecipientKind | str,
    information: str,
    legal_basis: LegalBasis | str | None,
    disclosed_at: dt.datetime | str | None = None,
    consent_id: str | None = None,
    justification: str = "",
) -> Disclosure:
    """Record information shared with another body. Refused without consent, legal basis or a
    written justification."""
    disclosure, consents = _build_disclosure(
        session,
        case_id,
        recipient,
        recipient_kind,
        information,
        legal_basis,
        disclosed_at,
        consent_id,
        justification,
    )
    rules.check_disclosure(disclosure, consents)
    with write(session) as vault:
        vault.disclosures.put(disclosure)
        queue(session, MutationName.DISCLOSURE_RECORD, {"disclosure": to_dict(disclosure)})
    log.info("disclosure recorded")
    return disclosure


def list_disclosures(session: Session, case_id: str) -> list[Disclosure]:
    require_case(session, case_id)
    return list(session.vault.disclosures.list_for_case(case_id))


__all__ = [
    "disclosure_warnings",
    "list_consents",
    "list_disclosures",
    "record_consent",
    "record_disclosure",
    "withdraw_consent",
]
