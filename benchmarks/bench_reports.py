"""Generation time of the PDF documents (targets: a full assessment report <= 0.5 s, a
500-entry journal extract <= 2 s). Renders into memory from constructed records, so it measures
the documents, not the vault or the disk; prints the median of 5 runs after one warm-up run
(fonts and the catalogue are loaded once per process, as in the app).

    .venv/bin/python benchmarks/bench_reports.py
"""

from __future__ import annotations

import argparse
import io
import os
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


def median_seconds(
    render: Callable[[io.BytesIO], int], runs: int = RUNS
) -> tuple[float, float, int]:
    """Median wall-clock and CPU seconds (CPU time shows the cost on a busy machine too)."""
    pages = render(io.BytesIO())  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        render(io.BytesIO())
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), pages


def main() -> None:
    parser = argparse.ArgumentParser(description="PDF generation times")
    parser.add_argument("--runs", type=int, default=RUNS, help="measured runs after a warm-up")
    runs = parser.parse_args().runs
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
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"median of {runs} runs; load average {load:.1f} on {os.cpu_count()} CPUs")
    wall, cpu, pages = median_seconds(lambda out: render_assessment_report(out, report, ctx), runs)
    print(
        f"assessment report (4 assessments in the profile, {pages} pages): "
        f"{wall:.3f} s wall, {cpu:.3f} s CPU (target 0.5 s)"
    )
    wall, cpu, pages = median_seconds(lambda out: render_journal_extract(out, extract, ctx), runs)
    print(
        f"journal extract, {len(entries)} entries ({pages} pages): "
        f"{wall:.3f} s wall, {cpu:.3f} s CPU (target 2 s)"
    )


if __name__ == "__main__":
    main()
