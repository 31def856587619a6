"""Generation time of the PDF documents (targets: a full assessment report <= 0.5 s, a
500-entry journal extract <= 2 s). Renders into memory from constructed records, so it measures
the documents, not the vault or the disk; prints the median of 5 runs after one warm-up run
(fonts and the catalogue are loaded once per process, as in the app).

    .venv/bin/python benchmarks/bench_reports.py
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

from fieldkit.forms.registry import default_registry
from fieldkit.reports import (
    AssessmentReportInput,
    JournalExtractInput,
    ReportContext,
    Text,
    render_assessment_report,
    render_journal_extract,
    samples,
)

RUNS = 5


def median_seconds(render: Callable[[io.BytesIO], int]) -> tuple[float, int]:
    pages = render(io.BytesIO())  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        render(io.BytesIO())
        times.append(time.perf_counter() - start)
    return statistics.median(times), pages


def main() -> None:
    form = default_registry().get("fk.vbe.concern", "1.1.0")
    sample = samples.sample_case(form, urgent=True, notes=0)
    entries = samples.journal_entries(sample.case, 500)
    ctx = ReportContext(
        text=Text("sv"),
        municipality="Malmö stad",
        unit="Fältgruppen Söder",
        produced_by="Åsa Öberg",
        names=samples.NAMES,
    )
    report = AssessmentReportInput(
        sample.assessment,
        form,
        sample.case,
        sample.person,
        sample.reviews,
        sample.interventions,
        sample.history,
    )
    extract = JournalExtractInput(sample.case, sample.person, entries)
    seconds, pages = median_seconds(lambda out: render_assessment_report(out, report, ctx))
    print(f"assessment report (4 assessments in the profile): {seconds:.3f} s, {pages} pages")
    seconds, pages = median_seconds(lambda out: render_journal_extract(out, extract, ctx))
    print(f"journal extract, {len(entries)} entries: {seconds:.3f} s, {pages} pages")


if __name__ == "__main__":
    main()
