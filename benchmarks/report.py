"""Figures, the printed table, the JSON file and the machine description."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Figure:
    """One measured figure. ``value`` is the median (or the single measurement, or a rate);
    ``p95`` where a distribution applies; ``target`` with ``op`` ('<=' or '>=') checked
    against ``p95`` when ``on_p95`` else against ``value``."""

    key: str
    label: str
    unit: str
    value: float | None
    p95: float | None = None
    target: float | None = None
    op: str = "<="
    on_p95: bool = False
    n: int | None = None
    note: str = ""

    @property
    def checked(self) -> float | None:
        return self.p95 if self.on_p95 else self.value

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        if self.target is None:
            return "info"
        got = self.checked
        if got is None:
            return "n/a"
        ok = got <= self.target if self.op == "<=" else got >= self.target
        return "pass" if ok else "MISS"

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        what = "p95 " if self.on_p95 else ""
        return f"{what}{self.op} {fmt(self.target)} {self.unit}".strip()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status
        data["target_text"] = self.target_text()
        return data


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * (len(ordered) - 1))))]


def timing(key: str, label: str, seconds: list[float], **kw: Any) -> Figure:
    """A figure in milliseconds from a list of timings in seconds."""
    ms = [s * 1000 for s in seconds]
    return Figure(
        key,
        label,
        "ms",
        statistics.median(ms),
        p95(ms) if len(ms) >= 5 else None,
        n=len(ms),
        **kw,
    )


def table(figures: list[Figure]) -> str:
    rows = [("figure", "median", "p95", "unit", "target", "result")]
    for f in figures:
        rows.append(
            (
                f.label,
                fmt(f.value),
                fmt(f.p95),
                f.unit,
                f.target_text(),
                f.status + (f" ({f.note})" if f.note and f.status in ("n/a",) else ""),
            )
        )
    widths = [min(62, max(len(r[i]) for r in rows)) for i in range(len(rows[0]) - 1)]
    lines = []
    for i, r in enumerate(rows):
        cells = [r[j][: widths[j]].ljust(widths[j]) for j in range(len(widths))] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ------")
    return "\n".join(lines)


def markdown(figures: list[Figure]) -> str:
    out = ["| figure | median | p95 | unit | target | result |", "|---|---:|---:|---|---|---|"]
    for f in figures:
        out.append(
            f"| {f.label} | {fmt(f.value)} | {fmt(f.p95)} | {f.unit} | {f.target_text()} "
            f"| {f.status} |"
        )
    return "\n".join(out)


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(pg_url: str | None = None) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    import sqlcipher3

    conn = sqlcipher3.connect(":memory:")
    try:
        cipher = conn.execute("PRAGMA cipher_version").fetchone()[0]
        sqlite = conn.execute("SELECT sqlite_version()").fetchone()[0]
        provider = conn.execute("PRAGMA cipher_provider").fetchone()
    finally:
        conn.close()
    pg = ""
    if pg_url:
        try:
            import psycopg

            with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as c:
                pg = str(c.execute("SHOW server_version").fetchone()[0])
        except Exception as exc:  # the figure table says so; never hide it
            pg = f"unavailable ({type(exc).__name__})"
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "HEAD"]).strip()
    dirty = bool(_run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]))
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlcipher": cipher,
        "sqlite": sqlite,
        "cipher_provider": provider[0] if provider else "",
        "postgresql": pg,
        "node": _run(["node", "--version"]).strip(),
        "git_commit": commit,
        "git_dirty": dirty,
        "load_average_at_start": list(os.getloadavg()),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")


def peak_rss_mib(pid: int | None = None) -> float | None:
    """VmHWM (peak resident set) of a process, in MiB."""
    where = Path(f"/proc/{pid or 'self'}/status")
    try:
        for line in where.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
