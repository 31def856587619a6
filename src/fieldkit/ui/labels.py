"""Translated labels for the records' closed vocabularies (codes stay language-neutral)."""

from __future__ import annotations

from enum import Enum

from fieldkit.errors import N_
from fieldkit.i18n import _, current_language, translation

LABELS: dict[str, str] = {
    # case types
    "individual_at_risk": N_("Individual at risk"),
    "exit_support": N_("Exit support"),
    "relative_support": N_("Support for relatives"),
    "consultation": N_("Consultation"),
    # case status
    "open": N_("Open"),
    "closed": N_("Closed"),
    # contact types
    "visit": N_("Visit"),
    "phone": N_("Phone"),
    "digital": N_("Digital"),
    "outreach": N_("Outreach"),
    "meeting": N_("Meeting"),
    "other": N_("Other"),
    # protected identity
    "none": N_("None"),
    "confidentiality_marking": N_("Confidentiality marking"),
    "protected_registration": N_("Protected registration"),
    "fictitious_identity": N_("Fictitious identity"),
    # journal
    "draft": N_("Draft"),
    "signed": N_("Signed"),
    "correction": N_("Correction"),
    "supplement": N_("Supplement"),
    "own_view": N_("The person's own view"),
    # assessment status
    "submitted": N_("Submitted"),
    "returned": N_("Returned"),
    "approved": N_("Approved"),
    "superseded": N_("Superseded"),
    # review
    "agree": N_("Agree"),
    "partly": N_("Partly agree"),
    "disagree": N_("Disagree"),
    "approve": N_("Approve"),
    "return": N_("Return"),
    # consent
    "person": N_("The person"),
    "guardian": N_("Guardian"),
    "not_yet_valid": N_("Not yet valid"),
    "active": N_("Valid"),
    "expired": N_("Expired"),
    "withdrawn": N_("Withdrawn"),
    # recipients
    "police": N_("Police"),
    "school": N_("School"),
    "health": N_("Health care"),
    "social_services": N_("Social services"),
    "leisure": N_("Leisure"),
    # legal basis
    "consent": N_("Consent"),
    "osl_10_18a": N_("Preventing crime (under 21)"),
    "duty": N_("Statutory duty"),
    "necessary": N_("Necessary disclosure"),
    # interventions
    "coordinated": N_("Coordinated support"),
    "exit": N_("Exit support"),
    "relatives": N_("Support for relatives"),
    "mentor": N_("Mentor"),
    "sspf": N_("SSPF"),
    "school_work": N_("School or work"),
    "report_child": N_("Child-protection report"),
    "cve": N_("Centre for preventing violent extremism"),
    # roles
    "worker": N_("Outreach worker"),
    "team_lead": N_("Team lead"),
    "admin": N_("Administrator"),
}


# Where one code needs a different word in one vocabulary (Swedish "Annat" for a contact type
# but "Annan" for the one who gave a consent): a gettext message context per vocabulary.
CONSENT_GIVER = "consent giver"
CONTEXT_LABELS: dict[tuple[str, str], str] = {
    (CONSENT_GIVER, "other"): "Other",
}


def label(value: Enum | str | None, context: str | None = None) -> str:
    """The translated label of an enum value (or its code when no label is known).

    ``context`` names the vocabulary (e.g. ``CONSENT_GIVER``) where a shared code needs its
    own translation."""
    if value is None:
        return ""
    code = value.value if isinstance(value, Enum) else str(value)
    if context is not None and (context, code) in CONTEXT_LABELS:
        return translation(current_language()).pgettext(context, CONTEXT_LABELS[context, code])
    msgid = LABELS.get(code)
    return _(msgid) if msgid else code
