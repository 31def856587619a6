"""PDF documents: the assessment report (with the risk/protective profile), the journal extract
and the subject-access extract.

Renderers are pure: they take domain records, the assessment's own form version and a
:class:`ReportContext` (language, organisation, who produced it, user names), write PDF bytes
into a caller's binary stream and return the page count. They read no vault and write no file;
``fieldkit.services.exports`` applies the export policy, audits and writes the file.
"""

from fieldkit.reports.assessment import AssessmentReportInput, render_assessment_report
from fieldkit.reports.common import ReportContext
from fieldkit.reports.journal import JournalExtractInput, render_journal_extract
from fieldkit.reports.protect import encrypt_pdf
from fieldkit.reports.subject import SubjectAccessInput, SubjectCase, render_subject_access
from fieldkit.reports.text import Text

__all__ = [
    "AssessmentReportInput",
    "JournalExtractInput",
    "ReportContext",
    "SubjectAccessInput",
    "SubjectCase",
    "Text",
    "encrypt_pdf",
    "render_assessment_report",
    "render_journal_extract",
    "render_subject_access",
]
