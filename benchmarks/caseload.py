"""A deterministic, seeded caseload for the benchmarks, written through the public services.

Everything is written the way a worker writes it (``fieldkit.services``): so the outbox rows,
the hash-chained audit events and the full-text index are the real ones. Content comes from
``fieldkit.services.demo_content`` (fictitious Swedish text with å, ä, ö) and the assessments
from ``fieldkit.services.demo.demo_answers`` on the shipped concern form; the same seed always
gives the same text, ratings and counts (record ids are UUIDv7 and differ between builds).

Generated vaults are cached under ``benchmarks/.cache/<size>-s<seed>-v<schema>-g<generator>/``
(git-ignored) with the raw data key beside them: bench data only, fictitious, never a
worker's. A later run copies the cached vault instead of writing it again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3

from fieldkit.domain.enums import (
    AuditAction,
    CaseType,
    ConsentGiver,
    InterventionKind,
    LinkKind,
    Role,
)
from fieldkit.domain.ids import new_id
from fieldkit.forms import FormRegistry
from fieldkit.security import SecurityPolicy
from fieldkit.services import assessments, cases, consents, demo_content, interventions, notes
from fieldkit.services.demo import CONCERN_FORM, complete_overrides, demo_answers
from fieldkit.services.profile import Identity, Session
from fieldkit.storage import Vault
from fieldkit.storage.vault import CACHE_KIB, migrations_available

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
GENERATOR_VERSION = 1
BIG_CASE_NOTES = 500  # the case the GUI and the PDF benchmarks open
CASES_PER_TRANSACTION = 10
BASE_DAY = dt.date(2026, 6, 1)


@dataclasses.dataclass(frozen=True)
class Size:
    name: str
    cases: int
    notes: int
    assessments: int
    audit_events: int

    def scaled(self, factor: float, name: str | None = None) -> Size:
        return Size(
            name or f"{self.name}x{factor:g}",
            max(2, round(self.cases * factor)),
            max(20, round(self.notes * factor)),
            max(2, round(self.assessments * factor)),
            max(10, round(self.audit_events * factor)),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TEAM = Size("team", 2_000, 200_000, 10_000, 50_000)
CITY = Size("city", 20_000, 2_000_000, 100_000, 500_000)
QUICK = Size("quick", 100, 3_000, 200, 800)
SIZES = {s.name: s for s in (TEAM, CITY, QUICK)}


def schema_version() -> int:
    return max(n for n, _, _ in migrations_available())


@dataclasses.dataclass
class Caseload:
    """A generated vault (encrypted with ``key``) and what it holds."""

    path: Path  # vault.db
    key: bytes
    identity: Identity
    size: Size
    seed: int
    counts: dict[str, int]
    big_case_id: str
    generation_seconds: float
    cached: bool = False

    def copy_to(self, directory: Path) -> Path:
        """A private copy of the vault file (the benchmarks write to it)."""
        directory.mkdir(parents=True, exist_ok=True)
        dest = directory / "vault.db"
        shutil.copyfile(self.path, dest)
        return dest


def bench_identity(username: str = "anna.bench") -> Identity:
    return Identity(
        user_id=new_id(),
        username=username,
        display_name="Anna Bänk",
        role=Role.WORKER,
        team_id=new_id(),
        team_name="Fältgruppen Bänk",
        device_id=new_id(),
    )


def bare_session(data_dir: Path, vault: Vault, identity: Identity, config: Any = None) -> Session:
    """A session over an already open vault (the services only need its vault and identity);
    the key slots are not involved. Used for the generated vaults and the plain baseline."""
    return Session(
        data_dir,
        "bench",
        identity,
        vault,
        None,  # type: ignore[arg-type]
        SecurityPolicy(),
        config if config is not None else {},
    )


def open_plain(path: Path) -> Vault:
    """The same vault code on plain SQLite: the SQLCipher build's own SQLite, no key, the same
    pragmas, migrations and repositories. The baseline for the encryption ratio."""
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=True)
    for pragma in (
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA secure_delete = ON",
        "PRAGMA temp_store = MEMORY",
        f"PRAGMA cache_size = {-CACHE_KIB}",
    ):
        conn.execute(pragma)
    vault = Vault(path, conn, bytes(32), 0)
    vault._migrate()
    return vault


def export_plain(encrypted: Path, key: bytes, dest: Path) -> Path:
    """A plain SQLite copy of an encrypted vault (``sqlcipher_export``): identical schema,
    rows and index, for reading workloads side by side."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    conn = sqlcipher3.connect(str(encrypted), isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("PRAGMA cipher_compatibility = 4")
        conn.execute("ATTACH DATABASE ? AS plain KEY ''", (str(dest),))
        conn.execute("SELECT sqlcipher_export('plain')")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA plain.user_version = {int(version)}")
        conn.execute("DETACH DATABASE plain")
    finally:
        conn.close()
    return dest


# --- the workload ---------------------------------------------------------------------------


def _note_counts(size: Size, rng: random.Random) -> list[int]:
    """Journal entries per case: case 0 holds BIG_CASE_NOTES, the rest vary around the mean
    and add up to the size exactly (links included)."""
    big = min(BIG_CASE_NOTES, size.notes // 5)
    rest = size.notes - big
    n = size.cases - 1
    mean = rest / n
    counts = [max(1, round(mean * rng.uniform(0.4, 1.6))) for _ in range(n)]
    diff = rest - sum(counts)
    i = 0
    while diff != 0:
        step = 1 if diff > 0 else -1
        if counts[i % n] + step >= 1:
            counts[i % n] += step
            diff -= step
        i += 1
    return [big, *counts]


def write_caseload(
    session: Session,
    size: Size,
    seed: int,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, int], str]:
    """Write the caseload through the services; returns (counts, the 500-entry case's id)."""
    rng = random.Random(seed)
    registry = FormRegistry.load()
    concern = registry.latest(CONCERN_FORM)
    vault = session.vault
    note_counts = _note_counts(size, rng)
    per_case_assess = [size.assessments // size.cases] * size.cases
    for i in range(size.assessments - sum(per_case_assess)):
        per_case_assess[i % size.cases] += 1
    # audit events besides the reads topped up at the end: case creates, signatures
    sign_share = max(0.0, min(1.0, (size.audit_events * 0.8 - size.cases) / size.notes))
    counts = dict.fromkeys(
        ("cases", "notes", "linked", "signed", "assessments", "submitted", "consents"), 0
    )
    counts["interventions"] = 0
    big_case = ""
    started = time.perf_counter()
    types = list(CaseType)
    for first in range(0, size.cases, CASES_PER_TRANSACTION):
        with vault.transaction():
            for index in range(first, min(size.cases, first + CASES_PER_TRANSACTION)):
                kind = types[index % len(types)] if index < len(types) else None
                kind = kind or demo_content.case_type(rng)
                person = demo_content.person(rng)
                case = cases.create_case(
                    session,
                    kind,
                    person.name,
                    personnummer=person.personnummer,
                    protected_identity=person.protected_identity,
                    address=person.address,
                    summary=demo_content.summary(kind),
                    reference=f"FK-{index:06d}",
                    district=person.district,
                    referral_source=rng.choice(("Skola", "Polis", "Vårdnadshavare", "Egen")),
                )
                counts["cases"] += 1
                big_case = big_case or case.id
                start = dt.datetime.combine(BASE_DAY, dt.time(9), dt.UTC) - dt.timedelta(
                    days=rng.randint(200, 900)
                )
                signed: list[str] = []
                total = note_counts[index]
                n = 0
                while n < total:
                    when = start + dt.timedelta(hours=n * 7 + rng.randint(0, 5))
                    if signed and rng.random() < 0.03:
                        link = rng.choice((LinkKind.CORRECTION, LinkKind.SUPPLEMENT))
                        lead = "Rättelse" if link is LinkKind.CORRECTION else "Tillägg"
                        notes.add_linked_note(
                            session,
                            rng.choice(signed),
                            link,
                            f"{lead}: "
                            + demo_content.note_text(rng, person.first, person.district, 240),
                            sign=True,
                        )
                        counts["linked"] += 1
                        counts["signed"] += 1
                    else:
                        sign = rng.random() < sign_share
                        entry = notes.add_note(
                            session,
                            case.id,
                            demo_content.note_text(rng, person.first, person.district),
                            contact_type=demo_content.contact_type(rng),
                            place=rng.choice(demo_content.PLACES),
                            event_time=when,
                            sign=sign,
                        )
                        if sign:
                            signed.append(entry.id)
                            counts["signed"] += 1
                    counts["notes"] += 1
                    n += 1
                for k in range(per_case_assess[index]):
                    answers = demo_answers(concern, rng, BASE_DAY)
                    a = assessments.create_assessment(
                        session,
                        case.id,
                        concern.id,
                        concern.version,
                        answers=answers,
                        overrides=complete_overrides(concern, answers),
                        registry=registry,
                    )
                    counts["assessments"] += 1
                    if k == 0 and rng.random() < 0.6:
                        assessments.submit(session, a.id, registry=registry)
                        counts["submitted"] += 1
                if rng.random() < 0.4:
                    consents.record_consent(
                        session,
                        case.id,
                        given_by=ConsentGiver.GUARDIAN,
                        given_by_name="Vårdnadshavare (mamma)",
                        recipients=("Skolan", "Polisen i Järva"),
                        information="Uppgifter om närvaro, mående och pågående insatser",
                        purpose="SSPF-samverkan kring stöd i skola och fritid",
                        valid_from=BASE_DAY - dt.timedelta(days=rng.randint(10, 60)),
                        valid_until=BASE_DAY + dt.timedelta(days=rng.choice((-5, 90, 180))),
                    )
                    counts["consents"] += 1
                if rng.random() < 0.5:
                    interventions.record_intervention(
                        session,
                        case.id,
                        rng.choice(
                            (InterventionKind.MENTOR, InterventionKind.SSPF, InterventionKind.EXIT)
                        ),
                        start_date=BASE_DAY - dt.timedelta(days=rng.randint(5, 90)),
                        description="Regelbundna träffar varannan vecka.",
                        responsible="Fältgruppen",
                    )
                    counts["interventions"] += 1
        if progress and (first // CASES_PER_TRANSACTION) % 20 == 0:
            done = counts["notes"]
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress(f"  {counts['cases']}/{size.cases} cases, {done} notes ({rate:.0f}/s)")
    # top up the audit log with case reads (what a worker's day adds) to the size's count
    missing = size.audit_events - vault.audit.count()
    case_ids = [c.id for c in vault.cases.list()]
    for first in range(0, max(0, missing), 1000):
        with vault.transaction():
            for i in range(first, min(missing, first + 1000)):
                cid = case_ids[i % len(case_ids)]
                session.record(
                    AuditAction.CASE_READ, record_type="case", record_id=cid, case_id=cid
                )
    counts["audit_events"] = vault.audit.count()
    counts["outbox"] = vault.outbox.count()
    return counts, big_case


def cache_dir(size: Size, seed: int) -> Path:
    return CACHE / f"{size.name}-s{seed}-v{schema_version()}-g{GENERATOR_VERSION}"


def get_caseload(
    size: Size,
    seed: int = 2026,
    *,
    use_cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Caseload:
    """The caseload of ``size``: from the cache when it was built before, else generated (and
    cached). The vault in the cache is never written to by a benchmark: they take copies."""
    folder = cache_dir(size, seed)
    manifest = folder / "manifest.json"
    if use_cache and manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return Caseload(
            path=folder / "vault.db",
            key=bytes.fromhex(data["key"]),
            identity=Identity.from_json(data["identity"]),
            size=size,
            seed=seed,
            counts=data["counts"],
            big_case_id=data["big_case_id"],
            generation_seconds=data["generation_seconds"],
            cached=True,
        )
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    key = random.Random(seed ^ 0x5EED).randbytes(32)
    identity = bench_identity()
    vault = Vault.create(building / "vault.db", key)
    session = bare_session(building, vault, identity)
    started = time.perf_counter()
    cpu = time.process_time()
    try:
        counts, big = write_caseload(session, size, seed, progress=progress)
    finally:
        vault.close()
    took = time.perf_counter() - started
    cpu = time.process_time() - cpu
    (building / "manifest.json").write_text(
        json.dumps(
            {
                "key": key.hex(),
                "identity": identity.to_json(),
                "size": size.to_dict(),
                "seed": seed,
                "counts": counts,
                "big_case_id": big,
                "generation_seconds": round(took, 1),
                # CPU beside wall: on a shared machine the wall time mostly says how busy it was
                "generation_cpu_seconds": round(cpu, 1),
                "schema_version": schema_version(),
                "generator_version": GENERATOR_VERSION,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return get_caseload(size, seed, use_cache=True)


if __name__ == "__main__":  # build (or show) a cached caseload: python benchmarks/caseload.py team
    import sys

    wanted = SIZES[sys.argv[1] if len(sys.argv) > 1 else "quick"]
    load = get_caseload(wanted, progress=lambda m: print(m, flush=True))
    print(
        json.dumps(
            {
                "path": str(load.path),
                "counts": load.counts,
                "generation_seconds": load.generation_seconds,
                "cached": load.cached,
            }
        )
    )
