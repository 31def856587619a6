"""Vault figures on a generated caseload, the encrypted vault beside the same schema, rows and
workload on plain SQLite (``sqlcipher_export`` of the same file), in one run.

- open after key derivation (the raw data key given; the open sequence of DESIGN.md §3);
- key derivation (a real profile with the default policy: Argon2id calibrated to ~0.5 s, the
  device secret from the real keyring);
- sign one draft entry (the note row, its ``note.sign`` outbox row, the audit event and its
  ``audit.append`` outbox row, in one transaction, synchronous=FULL);
- a note write (draft) and the outbox append alone (the outbox overhead of one note write);
- full-text search through the service (each search is itself audited), p50/p95;
- the case list as the app opens it: its first page with the count of all (``case_page``),
  and the whole list (``list_cases``, what the CLI and reports read);
- opening the 500-entry case (``open_case``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caseload import Caseload, bare_session, export_plain, open_plain
from fieldkit.domain.codec import to_dict
from fieldkit.protocol.messages import MutationName
from fieldkit.services import cases, notes, search
from fieldkit.services.profile import Session
from fieldkit.storage import Vault
from report import Figure, timing

QUERIES = (
    "skolan",
    "fritidsgården",
    "vårdnadshavare",
    "tränaren",
    "sommarjobb",
    "forum klipp",
    "frit",
    "Tensta",
    "hogskola",
    "konflikter känslorna",
    "SSPF samtycke",
    "kusin miljö",
    "algoritmer pauser",
    "mentor",
    "Rinkeby",
    "elevhälsa",
    "kvällarna vännerna",
    "överenskommelsen",
    "Åberg",
    "arbetsmarknadsenheten",
)


CPU: dict[str, list[float]] = {}  # CPU seconds per call, beside the wall times


def _times(fn: Callable[[], Any], n: int, warmup: int = 1, name: str = "") -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    cpu = []
    for _ in range(n):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if name:
        CPU[name] = cpu
    return out


def _cpu_note(name: str) -> str:
    values = CPU.get(name)
    return f"CPU median {statistics.median(values) * 1000:.2f} ms" if values else ""


def _workload(session: Session, load: Caseload, reps: dict[str, int]) -> dict[str, list[float]]:
    """The same workload on whichever vault the session holds."""
    big = load.big_case_id
    result: dict[str, list[float]] = {}
    vault = session.vault
    # drafts to sign (written before the clock runs)
    drafts = [
        notes.add_note(session, big, f"Utkast {i}: samtal om skolan och fritiden, åäö.")
        for i in range(reps["sign"] + 1)
    ]
    it = iter(drafts)
    tag = "plain." if "plain" in str(session.vault.path) else ""
    result["sign"] = _times(
        lambda: notes.sign_note(session, next(it).id), reps["sign"], name=tag + "sign"
    )
    text = drafts[0].text * 12  # ~600 characters
    result["write"] = _times(
        lambda: notes.add_note(session, big, text), reps["sign"], name=tag + "write"
    )
    payload = {"note": to_dict(drafts[0])}

    def append() -> None:
        with vault.transaction():
            t = time.perf_counter()
            vault.outbox.append(MutationName.NOTE_CREATE, payload)
            append_times.append(time.perf_counter() - t)

    append_times: list[float] = []
    for _ in range(reps["sign"] * 2):
        append()
    result["outbox_append"] = append_times
    qs = [QUERIES[i % len(QUERIES)] for i in range(reps["search"])]
    q = iter(qs)
    result["search"] = _times(
        lambda: search.search(session, next(q)), reps["search"], warmup=0, name=tag + "search"
    )
    result["case_list"] = _times(
        lambda: cases.case_page(session), reps["list"], name=tag + "case_list"
    )
    result["case_list_full"] = _times(
        lambda: cases.list_cases(session), reps["list"], name=tag + "case_list_full"
    )
    result["open_case"] = _times(
        lambda: cases.open_case(session, big), reps["list"], name=tag + "open_case"
    )
    return result


def _cpu_ratio(name: str) -> str:
    enc, plain = CPU.get(name), CPU.get("plain." + name)
    if not enc or not plain or not statistics.median(plain):
        return ""
    return f"CPU-time ratio {statistics.median(enc) / statistics.median(plain):.2f}"


def run(load: Caseload, reps: dict[str, int], log: Callable[[str], None]) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="fk-bench-vault-") as tmp:
        work = Path(tmp)
        log("  copying the vault and exporting its plain twin")
        enc_path = load.copy_to(work / "enc")
        plain_path = export_plain(load.path, load.key, work / "plain.db")

        def open_enc() -> None:
            Vault.open(enc_path, load.key).close()

        def open_pl() -> None:
            open_plain(plain_path).close()

        opens_enc = _times(open_enc, reps["open"], name="open")
        opens_plain = _times(open_pl, reps["open"], name="plain.open")
        log("  workload on the encrypted vault")
        vault = Vault.open(enc_path, load.key)
        try:
            enc = _workload(bare_session(work, vault, load.identity), load, reps)
        finally:
            vault.close()
        log("  workload on plain SQLite")
        pvault = open_plain(plain_path)
        try:
            plain = _workload(bare_session(work, pvault, load.identity), load, reps)
        finally:
            pvault.close()

    n_notes = load.counts["notes"]
    n_cases = load.counts["cases"]
    big_n = min(500, n_notes // 5)
    figures.append(timing("vault.open", "vault: open after key derivation", opens_enc, target=50.0))
    figures.append(
        timing(
            "vault.sign",
            "vault: sign one entry (+outbox, audit)",
            enc["sign"],
            target=10.0,
            note=_cpu_note("sign"),
        )
    )
    figures.append(
        timing(
            "vault.note_write",
            "vault: write one draft note",
            enc["write"],
            note=_cpu_note("write"),
        )
    )
    figures.append(
        timing(
            "sync.outbox_overhead",
            "sync: outbox overhead of one note write",
            enc["outbox_append"],
            target=2.0,
        )
    )
    figures.append(
        timing(
            "vault.search",
            f"vault: full-text search over {n_notes:,} entries",
            enc["search"],
            target=30.0,
            on_p95=True,
            note=_cpu_note("search"),
        )
    )
    figures.append(
        timing(
            "vault.case_list",
            f"vault: case list, first page of {n_cases:,} cases (with the count)",
            enc["case_list"],
            note=_cpu_note("case_list"),
        )
    )
    figures.append(
        timing(
            "vault.case_list_full",
            f"vault: case list, all {n_cases:,} cases (CLI, reports)",
            enc["case_list_full"],
            note=_cpu_note("case_list_full"),
        )
    )
    figures.append(
        timing(
            "vault.open_case",
            f"vault: open a case of {big_n} entries",
            enc["open_case"],
            note=_cpu_note("open_case"),
        )
    )
    pairs = [
        ("open", opens_enc, opens_plain, False),
        ("sign", enc["sign"], plain["sign"], False),
        ("write", enc["write"], plain["write"], False),
        ("search", enc["search"], plain["search"], True),
        ("case_list", enc["case_list"], plain["case_list"], False),
        ("open_case", enc["open_case"], plain["open_case"], False),
    ]
    ratios = []
    for name, e, p, tail in pairs:
        from report import p95

        ev, pv = (p95(e), p95(p)) if tail else (statistics.median(e), statistics.median(p))
        ratio = ev / pv if pv else None
        if ratio is not None:
            ratios.append(ratio)
        figures.append(
            Figure(
                f"ratio.encrypted_plain.{name}",
                f"encrypted/plain SQLite: {name.replace('_', ' ')}" + (" p95" if tail else ""),
                "×",
                ratio,
                target=1.25,
                note=f"plain {pv * 1000:.2f} ms; " + _cpu_ratio(name),
            )
        )
    if ratios:
        geo = statistics.geometric_mean(ratios)
        figures.append(
            Figure(
                "ratio.encrypted_plain.overall",
                "encrypted/plain SQLite: geometric mean",
                "×",
                geo,
                target=1.25,
            )
        )
    return figures


def key_derivation(work: Path, reps: int) -> Figure:
    """Unlock of a real profile's key slots with the default policy (calibrated to ~0.5 s)."""
    from caseload import bench_identity
    from fieldkit.security import KeySlots, SecurityPolicy
    from fieldkit.services.profile import SLOT_FILE, create_profile, read_profile

    policy = SecurityPolicy()
    data_dir = work / "kdf-profile"
    passphrase = "korrekt häst batteri häftklammer"
    create_profile(data_dir, passphrase, bench_identity("kdf.bench"), policy).lock()
    slots = KeySlots(data_dir / SLOT_FILE, read_profile(data_dir).profile_id)
    times = _times(lambda: slots.unlock(passphrase, policy), reps, warmup=0)
    fig = timing("vault.key_derivation", "key derivation (Argon2id, deliberate ~0.5 s)", times)
    fig.note = "reported, not a target"
    slots.wipe()
    return fig
