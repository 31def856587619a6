"""Render one or more result files (benchmarks/results/*.json) as a Markdown table with the
machine description, for docs/performance.md.

    python benchmarks/render.py benchmarks/results/bench-full-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import Figure, markdown


def main() -> int:
    figures: list[Figure] = []
    machines = []
    for name in sys.argv[1:]:
        data = json.loads(Path(name).read_text(encoding="utf-8"))
        machines.append((Path(name).name, data["machine"], data.get("seconds")))
        for f in data["figures"]:
            figures.append(
                Figure(
                    f["key"],
                    f["label"],
                    f["unit"],
                    f["value"],
                    f.get("p95"),
                    f.get("target"),
                    f.get("op", "<="),
                    f.get("on_p95", False),
                    f.get("n"),
                    f.get("note", ""),
                )
            )
    print(markdown(figures))
    print()
    for name, m, seconds in machines:
        print(
            f"- `{name}` ({seconds} s): {m['cpu_model']}, {m['cores']} cores, {m['ram_gib']} GiB, "
            f"Python {m['python']}, SQLCipher {m['sqlcipher']} (SQLite {m['sqlite']}), "
            f"PostgreSQL {m['postgresql']}, node {m['node']}, commit {m['git_commit'][:10]}"
            f"{' (+ uncommitted changes)' if m.get('git_dirty') else ''}, load average "
            f"{m['load_average_at_start'][0]:.1f} at start, "
            f"{m.get('load_average_at_end', [0])[0]:.1f} at end"
        )
    notes = [f for f in figures if f.note]
    if notes:
        print()
        for f in notes:
            print(f"- {f.label}: {f.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
