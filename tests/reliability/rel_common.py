"""Shared pieces of the reliability suite: the scale, the counters every scenario records."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

SCALE_ENV = "FIELDKIT_RELIABILITY_SCALE"
RESULTS_ENV = "FIELDKIT_RELIABILITY_RESULTS"

COLUMNS = [
    ("scenario", "scenario"),
    ("iterations", "iterations"),
    ("faults", "faults injected"),
    ("lost", "records lost"),
    ("duplicated", "records duplicated"),
    ("wrong_errors", "errors of the wrong kind"),
]


def is_full() -> bool:
    return os.environ.get(SCALE_ENV, "reduced").strip().lower() == "full"


def scale(reduced: int, full: int) -> int:
    """The number for this run's scale."""
    return full if is_full() else reduced


@dataclass
class Counters:
    scenario: str
    iterations: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_errors: int = 0
    notes: list[str] = field(default_factory=list)  # what a wrong error or a loss was

    def wrong(self, what: str) -> None:
        self.wrong_errors += 1
        if len(self.notes) < 20:
            self.notes.append(what)

    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.scenario)

    def as_dict(self) -> dict[str, object]:
        return {
            "scenario": self.scenario.removeprefix("test_"),
            "iterations": self.iterations,
            "faults": self.faults,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "wrong_errors": self.wrong_errors,
            "notes": self.notes,
        }

    def assert_clean(self) -> None:
        assert (self.lost, self.duplicated, self.wrong_errors) == (0, 0, 0), self.as_dict()
