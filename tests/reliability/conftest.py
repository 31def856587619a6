"""The fault, tamper and abuse suite (issue 11).

Two scales: the reduced one runs in ``make test``; ``FIELDKIT_RELIABILITY_SCALE=full`` (what
``make reliability`` sets) runs the long one. Every scenario records its counters (iterations,
faults injected, records lost, records duplicated, errors of the wrong kind) to a JSON file, and
the terminal summary prints them as one table at the end of the run."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
for shared in (HERE, HERE.parent / "sync", HERE.parent / "server"):
    if str(shared) not in sys.path:
        sys.path.insert(0, str(shared))

from rel_common import COLUMNS, RESULTS_ENV, Counters, is_full  # noqa: E402


def _results_dir(config: pytest.Config) -> Path:
    given = os.environ.get(RESULTS_ENV)
    if given:
        return Path(given)
    return (
        Path(str(config.rootpath)) / "build" / "reliability" / ("full" if is_full() else "reduced")
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_DIR] = _results_dir(config)
    config.stash[_SEEN] = []


_DIR = pytest.StashKey[Path]()
_SEEN = pytest.StashKey[list[Path]]()


@pytest.fixture(scope="session", autouse=True)
def swedish_catalogue() -> None:
    """The sync harness' tests compile the Swedish catalogue first; so do these."""
    from fieldkit import i18n

    i18n.compile_language("sv")
    i18n.translation.cache_clear()


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Iterator[Counters]:
    """Counters for this scenario, written to ``<results>/<scenario>.json`` when the test ends
    (also when it fails: the table shows what was measured)."""
    directory = request.config.stash[_DIR]
    counters = Counters(scenario=request.node.name)
    yield counters
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{counters.slug()}.json"
    path.write_text(json.dumps(counters.as_dict(), indent=2) + "\n", encoding="utf-8")
    request.config.stash[_SEEN].append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    paths = terminalreporter.config.stash.get(_SEEN, [])
    if not paths:
        return
    rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(set(paths))]
    scale = "full" if is_full() else "reduced"
    terminalreporter.section(f"fieldkit reliability ({scale} scale)", sep="=")
    widths = [max(len(h), *(len(str(r[k])) for r in rows)) for k, h in COLUMNS]
    line = "  ".join(h.ljust(w) for (_k, h), w in zip(COLUMNS, widths, strict=True))
    terminalreporter.write_line(line)
    terminalreporter.write_line("  ".join("-" * w for w in widths))
    for r in rows:
        cells = []
        for i, ((k, _h), w) in enumerate(zip(COLUMNS, widths, strict=True)):
            value = str(r[k])
            cells.append(value.ljust(w) if i == 0 else value.rjust(w))
        terminalreporter.write_line("  ".join(cells))
    terminalreporter.write_line(f"(counters in {terminalreporter.config.stash[_DIR]})")
