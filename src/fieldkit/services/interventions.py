"""Interventions (insatser): support measures with start, end and outcome."""

from __future__ import annotations

import datetime as dt
import logging

from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import InterventionKind
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Intervention, replace
from fieldkit.errors import N_, InvalidInput, NotFound, Refused
from fieldkit.protocol.messages import MutationName
from fieldkit.services.session import (
    Session,
    coerce_enum,
    encode_changes,
    parse_date,
    queue,
    require_case,
    write,
)

log = logging.getLogger(__name__)


def record_intervention(
    session: Session,
    case_id: str,
    kind: InterventionKind | str,
    start_date: dt.date | str | None = None,
    *,
    description: str = "",
    responsible: str = "",
    end_date: dt.date | str | None = None,
) -> Intervention:
    case = require_case(session, case_id)
    what = coerce_enum(InterventionKind, kind, N_("intervention kind"))
    start = parse_date(start_date, N_("start date")) or utcnow().date()
    end = parse_date(end_date, N_("end date"))
    if end is not None and end < start:
        raise InvalidInput(N_("An intervention cannot end before it starts."))
    me = session.identity
    now = utcnow()
    intervention = Intervention(
        case_id=case.id,
        kind=what,
        start_date=start,
        end_date=end,
        description=description.strip(),
        responsible=responsible.strip(),
        author_id=me.user_id,
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    with write(session) as vault:
        vault.interventions.put(intervention)
        queue(session, MutationName.INTERVENTION_RECORD, {"intervention": to_dict(intervention)})
    log.info("intervention %s recorded (%s)", intervention.id, what)
    return intervention


def end_intervention(
    session: Session,
    intervention_id: str,
    end_date: dt.date | str | None = None,
    outcome: str = "",
) -> Intervention:
    intervention = session.vault.interventions.get(intervention_id)
    if intervention is None:
        raise NotFound(
            N_("No intervention with id {intervention_id} on this laptop."),
            intervention_id=intervention_id,
        )
    if intervention.end_date is not None:
        raise Refused(N_("This intervention has already ended."))
    end = parse_date(end_date, N_("end date")) or utcnow().date()
    if end < intervention.start_date:
        raise InvalidInput(N_("An intervention cannot end before it starts."))
    changes = {"end_date": end, "outcome": outcome.strip()}
    updated = replace(intervention, **changes, updated_at=utcnow())
    with write(session) as vault:
        vault.interventions.put(updated)
        queue(
            session,
            MutationName.INTERVENTION_UPDATE,
            {"intervention_id": intervention.id, "changes": encode_changes(changes)},
        )
    log.info("intervention ended")
    return updated  # type: ignore[no-any-return]


def list_interventions(session: Session, case_id: str) -> list[Intervention]:
    require_case(session, case_id)
    return list(session.vault.interventions.list_for_case(case_id))
