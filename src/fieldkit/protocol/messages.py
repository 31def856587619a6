"""Sync protocol v1.

Push: the device sends its mutations in order, each with a per-device increasing integer id.
The server applies each in one transaction together with the device's ``last_mutation_id``: an
id at or below it is a duplicate (answered as before, no effect); a gap is an error; a business
rejection is recorded and still advances the id.

Pull: changes after an opaque cursor, within what the caller may see, with tombstones and
access revocations, the next cursor and ``has_more``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
SCHEMA_VERSION = 1  # the record schema the client writes; the server refuses newer majors
MAX_BATCH_MUTATIONS = 100
MAX_BATCH_BYTES = 1_000_000
MAX_PULL_LIMIT = 1000
DEFAULT_PULL_LIMIT = 500

__all__ = [
    "DEFAULT_PULL_LIMIT",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_MUTATIONS",
    "MAX_PULL_LIMIT",
    "PROTOCOL_VERSION",
    "SCHEMA_VERSION",
    "Change",
    "ChangeKind",
    "EnrollRequest",
    "EnrollResponse",
    "ErrorBody",
    "ErrorCode",
    "ErrorResponse",
    "FieldConflict",
    "HealthResponse",
    "IntegrityCount",
    "IntegrityResponse",
    "Mutation",
    "MutationName",
    "MutationResult",
    "MutationStatus",
    "PullResponse",
    "PushRequest",
    "PushResponse",
    "RecordType",
    "TokenRequest",
    "TokenResponse",
    "UserInfo",
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MutationName(StrEnum):
    """Every named mutation a device may push, with the shape of its ``args``:"""

    CASE_CREATE = "case.create"  # {case: Case, person: Person}
    CASE_SET_FIELDS = (
        "case.set_fields"  # {case_id, changes: {field: value}, base_versions: {field: int}}
    )
    CASE_ASSIGN = "case.assign"  # {case_id, assigned_ids: [user id]}
    CASE_CLOSE = "case.close"  # {case_id, reason, closed_at}
    PERSON_UPDATE = "person.update"  # {person_id, changes: {field: value}}
    NOTE_CREATE = "note.create"  # {note: JournalEntry}  (drafts, and linked corrections etc.)
    NOTE_UPDATE_DRAFT = "note.update_draft"  # {note_id, changes: {field: value}}
    NOTE_SIGN = "note.sign"  # {note: JournalEntry}  (the signed entry in full, with its hash)
    ASSESSMENT_SAVE_DRAFT = "assessment.save_draft"  # {assessment: Assessment}
    ASSESSMENT_SUBMIT = "assessment.submit"  # {assessment: Assessment}
    ASSESSMENT_REVIEW = "assessment.review"  # {review: Review}  (approve or return)
    CONSENT_RECORD = "consent.record"  # {consent: Consent}
    CONSENT_WITHDRAW = "consent.withdraw"  # {consent_id, withdrawn_at, reason}
    DISCLOSURE_RECORD = "disclosure.record"  # {disclosure: Disclosure}
    INTERVENTION_RECORD = "intervention.record"  # {intervention: Intervention}
    INTERVENTION_UPDATE = "intervention.update"  # {intervention_id, changes: {field: value}}
    AUDIT_APPEND = "audit.append"  # {events: [AuditEvent]}


class RecordType(StrEnum):
    PERSON = "person"
    CASE = "case"
    NOTE = "note"
    ASSESSMENT = "assessment"
    REVIEW = "review"
    CONSENT = "consent"
    DISCLOSURE = "disclosure"
    INTERVENTION = "intervention"
    USER = "user"  # names and roles of the caller's team, for display
    DOCUMENT = "document"  # knowledge library (published guidance)


class Mutation(Model):
    id: int = Field(gt=0, description="per-device, strictly increasing")
    name: MutationName
    args: dict[str, Any]
    schema_version: int = SCHEMA_VERSION
    form_version: str | None = None
    created_at: dt.datetime


class PushRequest(Model):
    protocol: Literal[1] = 1
    mutations: list[Mutation] = Field(max_length=MAX_BATCH_MUTATIONS)


class MutationStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # already applied before; no effect now
    REJECTED = "rejected"  # business rule refused it; recorded; id still advances
    CONFLICT = "conflict"  # applied in part; both-sides changes reported for a decision


class FieldConflict(Model):
    record_type: RecordType
    record_id: str
    field: str
    base_version: int | None = None
    server_value: Any = None
    local_value: Any = None


class MutationResult(Model):
    id: int
    status: MutationStatus
    reason_code: str | None = None
    reason: str | None = None
    conflicts: list[FieldConflict] = Field(default_factory=list)
    record_version: int | None = None  # the server version of the record after the mutation
    # For a duplicate: what the mutation's first delivery was answered (the rest of the fields
    # repeat that answer), so a replay tells the device whether it was applied or rejected.
    original_status: MutationStatus | None = None


class PushResponse(Model):
    protocol: Literal[1] = 1
    last_mutation_id: int
    results: list[MutationResult]


class ChangeKind(StrEnum):
    UPSERT = "upsert"
    TOMBSTONE = "tombstone"  # the record is gone (retention); purge the local copy
    REVOKE = "revoke"  # the caller may no longer see this case; purge everything of it


class Change(Model):
    kind: ChangeKind
    record_type: RecordType
    record_id: str
    case_id: str | None = None
    version: int = 0
    data: dict[str, Any] | None = None


class PullResponse(Model):
    protocol: Literal[1] = 1
    changes: list[Change]
    cursor: str
    has_more: bool
    server_time: dt.datetime


class IntegrityCount(Model):
    record_type: RecordType
    count: int
    digest: str  # sha256 over the sorted "id:version" lines of what the caller can see


class IntegrityResponse(Model):
    counts: list[IntegrityCount]


class UserInfo(Model):
    id: str
    username: str
    display_name: str
    role: Literal["worker", "team_lead", "admin"]
    team_id: str | None
    team_name: str | None = None


class EnrollRequest(Model):
    code: str = Field(min_length=4, max_length=64)
    device_name: str = Field(default="", max_length=200)
    platform: str = Field(default="", max_length=100)


class EnrollResponse(Model):
    device_id: str
    device_secret: str  # the device credential; shown once, stored hashed on the server
    user: UserInfo
    server_id: str


class TokenRequest(Model):
    device_id: str = Field(max_length=64)
    device_secret: str = Field(max_length=256)


class TokenResponse(Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    user: UserInfo


class HealthResponse(Model):
    status: Literal["ok"] = "ok"
    service: Literal["fieldkit-server"] = "fieldkit-server"
    version: str
    server_id: str
    protocol: int = PROTOCOL_VERSION


class ErrorCode(StrEnum):
    VALIDATION = "validation_error"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code)
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    DEVICE_REVOKED = "device_revoked"  # wipe the local profile
    RESYNC_REQUIRED = "resync_required"  # throw away the cursor and pull from scratch
    MUTATION_GAP = "mutation_gap"  # a mutation id was skipped; resend from last_mutation_id + 1
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    UNSUPPORTED_PROTOCOL = "unsupported_protocol"
    CONFLICT = "conflict"
    INTERNAL = "internal_error"
    # the HTTP method is not one the path answers (its Allow header and detail["allow"] name
    # those). Added later: the client never sends a wrong method, and a code it does not
    # handle by name is a plain refusal (sync.transport); an older client reads the answer as
    # not a fieldkit one
    METHOD_NOT_ALLOWED = "method_not_allowed"


class ErrorBody(Model):
    code: ErrorCode
    message: str
    detail: dict[str, Any] | None = None


class ErrorResponse(Model):
    error: ErrorBody
