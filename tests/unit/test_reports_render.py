"""The PDF renderers on constructed records, read back as a reader would (pdftotext, pypdf,
qpdf): the content is there in the chosen language with Swedish characters intact, every page
carries the confidentiality marking and "page X of Y", and nothing adds ratings up."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from fieldkit.domain.enums import AssessmentStatus, ProtectedIdentity
from fieldkit.domain.records import JournalEntry, replace
from fieldkit.forms.definition import Form
from fieldkit.forms.registry import default_registry
from fieldkit.reports import (
    AssessmentReportInput,
    JournalExtractInput,
    ReportContext,
    SubjectAccessInput,
    SubjectCase,
    Text,
    encrypt_pdf,
    render_assessment_report,
    render_journal_extract,
    render_subject_access,
    samples,
)
from fieldkit.reports.chart import Column, count_answers

# A total, a sum, points or an average, in English or Swedish, alone or in a compound
# ("totalpoäng", "poängsumma"); "Summary"/"summering" are not sums.
FORBIDDEN = re.compile(
    r"\btotal|total\b|summa\b|\bsum\b|poäng|average|genomsnitt|medelv", re.IGNORECASE
)


@pytest.fixture(scope="module")
def form() -> Form:
    return default_registry().get("fk.vbe.concern", "1.1.0")


def ctx(language: str = "sv", **changes: object) -> ReportContext:
    base = ReportContext(
        text=Text(language),
        municipality="Malmö stad",
        unit="Fältgruppen Söder",
        produced_by="Åsa Öberg",
        names=samples.NAMES,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def pdf_pages(data: bytes, tmp_path: Path) -> list[str]:
    """The text of each page as pdftotext (poppler) extracts it."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    return [p for p in pages if p.strip()]


def flat(text: str) -> str:
    return " ".join(text.split())


def qpdf_check(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def render(fn, data, context: ReportContext) -> tuple[bytes, int]:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    pages = fn(buffer, data, context)
    return buffer.getvalue(), pages


def assessment_input(sample: samples.SampleCase) -> AssessmentReportInput:
    return AssessmentReportInput(
        sample.assessment,
        sample.form,
        sample.case,
        sample.person,
        sample.reviews,
        sample.interventions,
        sample.history,
    )


def assert_every_page_marked(pages: list[str], marking: str, page_word: str, count: int) -> None:
    assert len(pages) == count
    for number, page in enumerate(pages, start=1):
        text = flat(page)
        assert marking in text, f"page {number} lacks the confidentiality marking"
        assert f"{page_word} {number} {'av' if page_word == 'Sida' else 'of'} {count}" in text


def without_form_wording(text: str, form: Form) -> str:
    """The report text minus the form's own words, which say there is no total score ("Ingen
    poängsumma", "not a sum"): what is left is what the report itself prints."""
    texts = [*(form.disclaimer or {}).values()]
    texts += [label for item in form.items() for label in item.label.values()]
    for said in sorted(texts, key=len, reverse=True):
        text = text.replace(flat(said), "")
    return text


# --- assessment report ----------------------------------------------------------------------


def test_assessment_report_in_swedish_has_everything_a_case_conference_needs(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, urgent=True)
    data, count = render(render_assessment_report, assessment_input(sample), ctx("sv"))
    pages = pdf_pages(data, tmp_path)
    assert_every_page_marked(pages, "SEKRETESS – OSL 26 kap.", "Sida", count)
    text = flat(" ".join(pages))
    for expected in (
        "Strukturerad bedömning",
        "Malmö stad · Fältgruppen Söder",
        "VBE-2026-0042",
        "Elias Åkesson-Lindqvist",
        "20090412-2389",  # not protected: the personnummer is printed
        "Oro för våldsbejakande extremism, version 1.1.0 (fk.vbe.concern)",
        "Idéer, identitet och tillhörighet",  # a section title
        "Skyddande faktorer",
        "Nyckelfaktor",
        "Framkom i samtal på fritidsgården",  # an evidence note
        "Samtal med personen, Skola",  # evidence sources as labels
        "2026-02-20",  # date observed, Swedish format
        "Måttlig",  # the overall level exactly as answered (S1)
        "Omedelbara åtgärder",  # the immediate-action section is present
        "Rättslig grund",
        "Varningar som åsidosatts med motivering",
        "tre oberoende källor samstämmer",  # the override's written justification
        "Risk- och skyddsprofil över tid",
        "Mentor från föreningen Fältkraft",  # a case intervention
        "Datum för förnyad bedömning: 2 juni 2026",
        "Jörgen Ängström",  # reviewer
        "Instämmer delvis",  # decision
        "Godkänd",  # outcome
        "överväg SSPF om samtycke finns",  # review comment
        sample.assessment.content_hash,
    ):
        assert expected in text, expected
    assert samples.RATIONALE[:60] in text
    qpdf_check(data, tmp_path)


def test_assessment_report_never_prints_a_total_or_an_average(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form)
    for language in ("sv", "en"):
        data, _ = render(render_assessment_report, assessment_input(sample), ctx(language))
        text = without_form_wording(flat(" ".join(pdf_pages(data, tmp_path))), form)
        assert not FORBIDDEN.search(text), FORBIDDEN.search(text)
        # No "n/m" style aggregate and no decimal numbers (an average would have one).
        assert not re.search(r"\b\d+\s*/\s*\d+\b", text)
        numbers = re.sub(r"\d{4}-\d{2}-\d{2}|\d+\.\d+\.\d+|\d\d:\d\d", "", text)
        assert not re.search(r"\b\d+[.,]\d+\b", numbers), re.search(r"\b\d+[.,]\d+\b", numbers)


def test_assessment_report_in_english_uses_english_labels_and_dates(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form)
    data, count = render(render_assessment_report, assessment_input(sample), ctx("en"))
    pages = pdf_pages(data, tmp_path)
    assert_every_page_marked(pages, "CONFIDENTIAL – social services secrecy", "Page", count)
    text = flat(" ".join(pages))
    assert "Structured assessment" in text
    assert "Concern about violent extremism, version 1.1.0" in text
    assert "Re-assessment date: 2 June 2026" in text
    assert "Partly agrees" in text
    assert "Strukturerad bedömning" not in text
    assert "SEKRETESS" not in text  # the statute reference is Swedish data only


def test_protected_person_is_marked_and_personnummer_left_out_unless_allowed(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, protected=ProtectedIdentity.PROTECTED_REGISTRATION)
    data, _ = render(render_assessment_report, assessment_input(sample), ctx("sv"))
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    assert "SKYDDADE PERSONUPPGIFTER: SKYDDAD FOLKBOKFÖRING" in text
    assert "20090412-2389" not in text
    assert "Utelämnat: skyddade personuppgifter" in text
    assert "Östra Förstadsgatan" not in text and "070-123" not in text
    allowed, _ = render(
        render_assessment_report,
        assessment_input(sample),
        ctx("sv", include_protected_personnummer=True),
    )
    assert "20090412-2389" in flat(" ".join(pdf_pages(allowed, tmp_path)))


def test_draft_assessment_is_marked_on_every_page(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form)
    draft = replace(
        sample.assessment,
        status=AssessmentStatus.DRAFT,
        submitted_at=None,
        submitted_by=None,
        content_hash=None,
    )
    data, count = render(
        render_assessment_report,
        dataclasses.replace(assessment_input(sample), assessment=draft, reviews=()),
        ctx("sv"),
    )
    pages = pdf_pages(data, tmp_path)
    assert len(pages) == count
    for page in pages:
        assert "UTKAST – inte inlämnad" in flat(page)


def test_assessment_report_warns_when_the_answers_no_longer_match_the_hash(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form)
    text_of = lambda a: flat(  # noqa: E731
        " ".join(
            pdf_pages(
                render(
                    render_assessment_report,
                    dataclasses.replace(assessment_input(sample), assessment=a),
                    ctx("sv"),
                )[0],
                tmp_path,
            )
        )
    )
    assert "Hashvärdet stämmer inte" not in text_of(sample.assessment)
    changed = dict(sample.assessment.answers, S1="low")
    assert "Hashvärdet stämmer inte med svaren" in text_of(
        replace(sample.assessment, answers=changed)
    )


def test_profile_counts_unknown_as_its_own_category(form: Form) -> None:
    sample = samples.sample_case(form)
    answers = dict(sample.assessment.answers)
    for item_id in ("B1", "B2", "B3"):
        answers[item_id] = {"rating": "unknown"}
    answers["B4"] = {"rating": "clear", "note": "x", "sources": ["school"]}
    answers["B5"] = {"rating": "none"}
    column = Column(replace(sample.assessment, answers=answers), form)
    counts = count_answers(column, "scale:concern")
    assert counts["B"] == {"unknown": 3, "clear": 1, "none": 1}
    assert "F_URGENT" not in counts  # only rating items are counted


def test_profile_shows_unknown_and_not_answered_in_the_legend(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form)
    data, _ = render(render_assessment_report, assessment_input(sample), ctx("sv"))
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    profile = text[text.index("Risk- och skyddsprofil över tid") :]
    assert "Okänt" in profile and "Ej besvarad" in profile
    assert "inget läggs ihop" in profile


def test_a_form_without_ratings_renders_with_its_own_labels(form: Form, tmp_path: Path) -> None:
    relatives = default_registry().get("fk.relatives.followup", "1.0.0")
    answers: dict[str, object] = {}
    for item in relatives.items():
        if item.type in ("singleselect", "yes_no_unknown"):
            answers[item.id] = item.codes[0]
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = f"Svar på {item.id}: mamman orkar inte längre, säger hon."
        elif item.type == "date":
            answers[item.id] = "2026-04-15"
    sample = samples.sample_case(form)  # the case and person; the answers are replaced
    a = replace(sample.assessment, form_id=relatives.id, form_version="1.0.0", answers=answers)
    data, _ = render(
        render_assessment_report,
        AssessmentReportInput(a, relatives, sample.case, sample.person, history=[(a, relatives)]),
        ctx("sv"),
    )
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    assert "Uppföljning av anhörigstöd, version 1.0.0" in text
    assert "mamman orkar inte längre" in text
    assert "Formuläret har inga skattade faktorer" in text
    assert "2026-04-15" in text


# --- journal extract ------------------------------------------------------------------------


def test_journal_extract_prints_corrections_under_their_originals(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, notes=12)
    data, count = render(
        render_journal_extract,
        JournalExtractInput(sample.case, sample.person, sample.notes),
        ctx("sv"),
    )
    pages = pdf_pages(data, tmp_path)
    assert_every_page_marked(pages, "SEKRETESS – OSL 26 kap.", "Sida", count)
    text = flat(" ".join(pages))
    original = text.index("Träffade Elias på fritidsgården Kärnan")
    notice = text.index("Rättad: se 1.1 nedan. Den ursprungliga texten står kvar oförändrad.")
    correction = text.index("RÄTTELSE av anteckning 1")
    correction_text = text.index("Rättelse: mötet var på onsdagen")
    second = text.index("Telefonsamtal med mamma Maria")
    assert notice < original < correction < correction_text < second
    assert "KOMPLETTERING till anteckning" in text
    assert "DEN ENSKILDES SYNPUNKT på anteckning" in text
    assert "2 osignerade utkast under perioden ingår inte" in text
    assert "UTKAST – INTE SIGNERAD" not in text
    signed = [n for n in sample.notes if n.is_signed]
    for note in signed:
        assert note.content_hash in text
    assert "Signerad 2025-09-01" in text
    qpdf_check(data, tmp_path)


def test_journal_extract_entries_are_chronological_and_period_is_honoured(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, notes=12)
    shuffled = list(reversed(sample.notes))
    data, _ = render(
        render_journal_extract,
        JournalExtractInput(
            sample.case,
            sample.person,
            shuffled,
            start=dt.date(2025, 9, 2),
            end=dt.date(2025, 9, 4),
        ),
        ctx("en"),
    )
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    times = re.findall(r"\b(\d{1,2} Sept? 2025 \d{2}:\d{2})\b", text)
    assert times, text[:500]
    assert "1 Sept 2025 12:00" not in text.split("Period")[1]  # 1 Sep is outside the period
    heads = re.findall(r"(?:^|\s)(\d+)\s+·\s+(\d{1,2} Sept? 2025 \d{2}:\d{2})", text)
    numbers = [int(n) for n, _ in heads]
    assert numbers == sorted(numbers) and numbers[0] == 1
    # A correction whose original (1 Sep) is outside the period says so.
    assert "the original, of 1 Sept 2025, is outside this extract" in text or (
        "the original, of 1 Sep 2025, is outside this extract" in text
    )


def test_journal_extract_with_drafts_marks_them(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form, notes=12)
    data, _ = render(
        render_journal_extract,
        JournalExtractInput(sample.case, sample.person, sample.notes, include_drafts=True),
        ctx("sv"),
    )
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    assert text.count("UTKAST – INTE SIGNERAD") == 2
    assert "Ingår och är markerade som osignerade utkast" in text


def test_journal_extract_warns_when_a_signature_no_longer_matches(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, notes=4)
    tampered: list[JournalEntry] = []
    for note in sample.notes:
        if note.is_signed and not tampered:
            note = replace(note, text=note.text + " (ändrad i efterhand)")
        tampered.append(note)
    data, _ = render(
        render_journal_extract,
        JournalExtractInput(sample.case, sample.person, tampered),
        ctx("sv"),
    )
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    assert text.count("Hashvärdet stämmer inte med texten") == 1


def test_hostile_text_prints_literally_without_controls_or_direction_overrides(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, notes=1)
    hostile = "Före\x00noll\ttabb <b>fet</b> & \u202eöverstyrd\r\nny rad"
    note = replace(sample.notes[0], text=hostile, place="<i>plats</i>")
    case = replace(sample.case, reference="VBE\u202e-1")
    data, _ = render(
        render_journal_extract,
        JournalExtractInput(case, sample.person, [note], include_drafts=True),
        ctx("sv"),
    )
    text = flat(" ".join(pdf_pages(data, tmp_path)))
    assert "Förenoll tabb <b>fet</b> & överstyrd ny rad" in text
    assert "<i>plats</i>" in text and "VBE-1" in text
    assert "\u202e" not in text and "\x00" not in text


def test_a_very_long_entry_breaks_across_pages(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form, notes=1)
    long = "Mycket lång anteckning om händelseförloppet på gården. " * 900
    note = replace(sample.notes[0], text=long + "SLUTET-ÅÄÖ")
    data, count = render(
        render_journal_extract,
        JournalExtractInput(sample.case, sample.person, [note], include_drafts=True),
        ctx("sv"),
    )
    assert count > 3
    assert "SLUTET-ÅÄÖ" in flat(" ".join(pdf_pages(data, tmp_path)))


# --- subject-access extract -----------------------------------------------------------------


def test_subject_access_extract_is_a_draft_on_every_page_and_holds_everything(
    form: Form, tmp_path: Path
) -> None:
    sample = samples.sample_case(form, notes=6)
    subject = SubjectAccessInput(
        persons=[sample.person],
        cases=[
            SubjectCase(
                sample.case,
                sample.person,
                sample.notes,
                [(a, form) for a, _ in sample.history],
                sample.reviews,
                sample.consents,
                sample.disclosures,
                sample.interventions,
            )
        ],
        reads=sample.audit,
    )
    data, count = render(render_subject_access, subject, ctx("sv"))
    pages = pdf_pages(data, tmp_path)
    assert_every_page_marked(pages, "SEKRETESS – OSL 26 kap.", "Sida", count)
    for number, page in enumerate(pages, start=1):
        assert "UTKAST – för sekretessprövning före utlämnande" in flat(page), number
    text = flat(" ".join(pages))
    for expected in (
        "Registerutdrag",
        "Östra Förstadsgatan 12 B",  # not protected: the address held is listed
        "Maria Åkesson",  # consent given by
        "Polisen, kommunpolis Söder",  # disclosure recipient
        "Samtycke",  # its legal basis
        "Anhörigstöd",  # an intervention
        "UTKAST – INTE SIGNERAD",  # drafts are part of what is held
        "Loggade läsningar av personens uppgifter",
        "Adressen visad",  # an unmask event
        "Bedömning: Oro för våldsbejakande extremism, version 1.1.0",
    ):
        assert expected in text, expected
    qpdf_check(data, tmp_path)


def test_subject_access_extract_in_english(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form, notes=2)
    subject = SubjectAccessInput([sample.person], [SubjectCase(sample.case, sample.person)])
    data, _ = render(render_subject_access, subject, ctx("en"))
    for page in pdf_pages(data, tmp_path):
        assert "DRAFT – for secrecy review before release" in flat(page)


# --- look and encryption --------------------------------------------------------------------


def test_fonts_are_embedded_dejavu_and_no_base14_font_is_used(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form)
    data, _ = render(render_assessment_report, assessment_input(sample), ctx("sv"))
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = out.stdout.splitlines()[2:]
    assert rows
    for row in rows:
        assert "DejaVu" in row or "FieldkitSans" in row or "FieldkitMono" in row, row
        assert " yes " in row  # embedded


def test_encrypted_pdf_opens_only_with_its_password(form: Form, tmp_path: Path) -> None:
    sample = samples.sample_case(form)
    data, _ = render(render_assessment_report, assessment_input(sample), ctx("sv"))
    locked = encrypt_pdf(data, "rätt lösenord 42")
    reader = PdfReader(io.BytesIO(locked))
    assert reader.is_encrypted
    assert reader.trailer["/Encrypt"]["/V"] == 5 and reader.trailer["/Encrypt"]["/R"] == 6
    assert not reader.decrypt("fel lösenord")
    assert reader.decrypt("rätt lösenord 42")
    assert "Strukturerad bedömning" in reader.pages[0].extract_text()
    path = tmp_path / "locked.pdf"
    path.write_bytes(locked)
    ok = subprocess.run(
        ["qpdf", "--password=rätt lösenord 42", "--check", str(path)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "AES" in ok.stdout or "R = 6" in ok.stdout or ok.returncode == 0
    wrong = subprocess.run(
        ["qpdf", "--password=fel", "--check", str(path)], capture_output=True, text=True
    )
    assert wrong.returncode != 0
    assert b"Strukturerad" not in locked
