"""The closed vocabularies of the records. Values are language-neutral codes; labels live in
the translation catalogue."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WORKER = "worker"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


class CaseType(StrEnum):
    INDIVIDUAL_AT_RISK = "individual_at_risk"
    EXIT_SUPPORT = "exit_support"
    RELATIVE_SUPPORT = "relative_support"
    CONSULTATION = "consultation"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ContactType(StrEnum):
    VISIT = "visit"
    PHONE = "phone"
    DIGITAL = "digital"
    OUTREACH = "outreach"
    MEETING = "meeting"
    OTHER = "other"


class ProtectedIdentity(StrEnum):
    """Skyddade personuppgifter, from least to most restrictive."""

    NONE = "none"
    CONFIDENTIALITY_MARKING = "confidentiality_marking"  # sekretessmarkering
    PROTECTED_REGISTRATION = "protected_registration"  # skyddad folkbokföring
    FICTITIOUS_IDENTITY = "fictitious_identity"  # fingerade personuppgifter

    @property
    def is_protected(self) -> bool:
        return self is not ProtectedIdentity.NONE


class NoteState(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


class LinkKind(StrEnum):
    """How a new journal entry relates to an earlier signed one."""

    CORRECTION = "correction"  # rättelse
    SUPPLEMENT = "supplement"  # komplettering
    OWN_VIEW = "own_view"  # den enskildes synpunkt


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class ReviewDecision(StrEnum):
    AGREE = "agree"
    PARTLY = "partly"
    DISAGREE = "disagree"


class ReviewOutcome(StrEnum):
    APPROVE = "approve"
    RETURN = "return"


class ConsentGiver(StrEnum):
    PERSON = "person"
    GUARDIAN = "guardian"
    OTHER = "other"


class ConsentStatus(StrEnum):
    NOT_YET_VALID = "not_yet_valid"
    ACTIVE = "active"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class RecipientKind(StrEnum):
    POLICE = "police"
    SCHOOL = "school"
    HEALTH = "health"
    SOCIAL_SERVICES = "social_services"
    LEISURE = "leisure"
    OTHER = "other"


class LegalBasis(StrEnum):
    """Why information may leave social services. Statute references live in data (forms,
    translations), not in code: the law was renumbered in 2025 and may be again."""

    CONSENT = "consent"
    PREVENT_CRIME_UNDER_21 = "osl_10_18a"
    STATUTORY_DUTY = "duty"
    NECESSARY_DISCLOSURE = "necessary"


class InterventionKind(StrEnum):
    COORDINATED = "coordinated"
    EXIT = "exit"
    RELATIVES = "relatives"
    MENTOR = "mentor"
    SSPF = "sspf"
    SCHOOL_WORK = "school_work"
    LEISURE = "leisure"
    HEALTH = "health"
    CHILD_REPORT = "report_child"
    POLICE = "police"
    CVE = "cve"
    OTHER = "other"


class AuditAction(StrEnum):
    CASE_READ = "case.read"
    CASE_CREATE = "case.create"
    SEARCH = "search"
    EXPORT = "export"
    PRINT = "print"
    SIGN = "sign"
    UNMASK = "unmask"
    LOGIN = "login"
    UNLOCK = "unlock"
    UNLOCK_FAILED = "unlock.failed"
    LOCK = "lock"
    ASSESSMENT_READ = "assessment.read"
    ASSESSMENT_SUBMIT = "assessment.submit"
    ASSESSMENT_REVIEW = "assessment.review"
    LOG_REVIEW = "log.review"
    KEY_CHANGE = "key.change"
