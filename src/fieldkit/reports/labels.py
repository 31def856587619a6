"""Printed labels of the records' closed vocabularies (English message ids; Swedish in
``reports.po``). Keyed by (enum type, code): different vocabularies share codes."""

from __future__ import annotations

from enum import Enum

from fieldkit.domain.enums import (
    AssessmentStatus,
    AuditAction,
    CaseStatus,
    CaseType,
    ConsentGiver,
    ContactType,
    InterventionKind,
    LegalBasis,
    LinkKind,
    NoteState,
    ProtectedIdentity,
    RecipientKind,
    ReviewDecision,
    ReviewOutcome,
    Role,
)
from fieldkit.reports.text import N_


def _labels(enum: type[Enum], labels: dict[str, str]) -> dict[tuple[type[Enum], str], str]:
    missing = {m.value for m in enum} - set(labels)
    assert not missing, f"{enum.__name__} lacks printed labels for {sorted(missing)}"
    return {(enum, code): text for code, text in labels.items()}


ENUM_LABELS: dict[tuple[type[Enum], str], str] = {
    **_labels(
        Role,
        {"worker": N_("Worker"), "team_lead": N_("Team lead"), "admin": N_("IT administrator")},
    ),
    **_labels(
        CaseType,
        {
            "individual_at_risk": N_("Individual at risk"),
            "exit_support": N_("Exit support"),
            "relative_support": N_("Support for relatives"),
            "consultation": N_("Consultation"),
        },
    ),
    **_labels(CaseStatus, {"open": N_("Open"), "closed": N_("Closed")}),
    **_labels(
        ContactType,
        {
            "visit": N_("Visit"),
            "phone": N_("Phone call"),
            "digital": N_("Digital contact"),
            "outreach": N_("Outreach"),
            "meeting": N_("Meeting"),
            "other": N_("Other contact"),
        },
    ),
    **_labels(
        ProtectedIdentity,
        {
            "none": N_("None"),
            "confidentiality_marking": N_("Confidentiality marking"),
            "protected_registration": N_("Protected registration"),
            "fictitious_identity": N_("Fictitious identity"),
        },
    ),
    **_labels(NoteState, {"draft": N_("Draft, not signed"), "signed": N_("Signed")}),
    **_labels(
        LinkKind,
        {
            "correction": N_("Correction"),
            "supplement": N_("Supplement"),
            "own_view": N_("The person's own view"),
        },
    ),
    **_labels(
        AssessmentStatus,
        {
            "draft": N_("Draft, not submitted"),
            "submitted": N_("Submitted, awaiting review"),
            "returned": N_("Returned for revision"),
            "approved": N_("Approved"),
            "superseded": N_("Superseded by a later assessment"),
        },
    ),
    **_labels(
        ReviewDecision,
        {"agree": N_("Agrees"), "partly": N_("Partly agrees"), "disagree": N_("Disagrees")},
    ),
    **_labels(ReviewOutcome, {"approve": N_("Approved"), "return": N_("Returned")}),
    **_labels(
        ConsentGiver,
        {"person": N_("The person"), "guardian": N_("Guardian"), "other": N_("Other")},
    ),
    **_labels(
        RecipientKind,
        {
            "police": N_("Police"),
            "school": N_("School"),
            "health": N_("Health care"),
            "social_services": N_("Social services"),
            "leisure": N_("Leisure services"),
            "other": N_("Other recipient"),
        },
    ),
    **_labels(
        LegalBasis,
        {
            "consent": N_("Consent"),
            "osl_10_18a": N_("Disclosure to prevent crime (person under 21)"),
            "duty": N_("Statutory duty to disclose"),
            "necessary": N_("Necessary disclosure"),
        },
    ),
    **_labels(
        InterventionKind,
        {
            "coordinated": N_("Coordinated support"),
            "exit": N_("Exit support"),
            "relatives": N_("Support for relatives"),
            "mentor": N_("Mentor"),
            "sspf": N_("SSPF collaboration"),
            "school_work": N_("School, education or work"),
            "leisure": N_("Meaningful leisure"),
            "health": N_("Health care"),
            "report_child": N_("Child-protection report"),
            "police": N_("Police contact"),
            "cve": N_("Consultation with the CVE centre"),
            "other": N_("Other intervention"),
        },
    ),
    **_labels(
        AuditAction,
        {
            "case.read": N_("Case opened"),
            "case.create": N_("Case created"),
            "search": N_("Search"),
            "export": N_("Exported"),
            "print": N_("Printed"),
            "sign": N_("Signed"),
            "unmask": N_("Address shown"),
            "login": N_("Signed in"),
            "unlock": N_("Unlocked"),
            "unlock.failed": N_("Failed unlock"),
            "lock": N_("Locked"),
            "assessment.read": N_("Assessment opened"),
            "assessment.submit": N_("Assessment submitted"),
            "assessment.review": N_("Assessment reviewed"),
            "log.review": N_("Log reviewed"),
            "key.change": N_("Key changed"),
        },
    ),
}
