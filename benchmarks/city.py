"""A deterministic, seeded caseload written straight into the SERVER's PostgreSQL database, in
the shape the server itself writes when the workers' laptops push it: the "city" size (ten
teams of the team size) and the literal growth sizes, which would take hours through the
client services.

What the rows are, and why they are faithful (src/fieldkit/server/mutations.py, store.py,
sync.py, admin.py):

- ``teams``, ``users`` (one team lead and ``workers_per_team`` workers per team) and one
  ``devices`` row per worker (the laptop that "wrote" the worker's cases), each user announced
  in the feed as ``admin.add_user`` does (an ``upsert`` of type ``user`` with the team id);
- per case, the mutations a worker's laptop queues, applied as the handlers apply them:
  ``case.create`` (the person normalised and stamped with author and device, then the case with
  its per-field versions at 0; ``case_scope`` and ``case_members``; changes: person, then case),
  ``note.create`` (+ ``note.sign`` for a signed entry: version 2, sealed, a second change),
  corrections and supplements linked to a signed entry, ``assessment.save_draft`` (+
  ``assessment.submit``: version 2, sealed, body/state split), ``consent.record``,
  ``intervention.record``; ``case_scope.last_entry_at`` as ``touch_case`` leaves it;
- one ``mutation_log`` row per mutation (the device's ``last_mutation_id`` is its count) and one
  ``audit.append`` per audit event (case create, signatures, submissions, then case reads up to
  the size's audit count), hash-chained per device with the domain's own ``audit.chain``,
  the device's chain head set as ``audit_append`` leaves it;
- the feed numbered 1..N without gaps in writing order, ``feed_counter`` at N.

Records are built with the domain's dataclasses and rules (``journal.sign``,
``assessment.submit``, ``codec.to_dict``) from ``demo_content`` text (Swedish, åäö) and
``demo_answers`` on the shipped concern form. Ids are UUIDv7-shaped from the seeded generator,
so the same seed gives the same rows.

A built database is kept in the PostgreSQL cluster as a template (``fk_city_*``, its manifest
in the database comment); a benchmark takes a copy (``CREATE DATABASE ... TEMPLATE``) and drops
it afterwards. ``python benchmarks/city.py city`` builds (or shows) the city.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import psycopg

import caseload
from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain import audit as audit_rules
from fieldkit.domain import journal
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import (
    AuditAction,
    CaseType,
    ConsentGiver,
    InterventionKind,
    LinkKind,
    NoteState,
    Role,
)
from fieldkit.domain.records import (
    EDITABLE_CASE_FIELDS,
    Assessment,
    AuditEvent,
    Case,
    Consent,
    Intervention,
    JournalEntry,
    Person,
)
from fieldkit.forms import FormRegistry
from fieldkit.services import demo_content
from fieldkit.services.demo import CONCERN_FORM, complete_overrides, demo_answers

CITY_VERSION = 1  # bump when the rows this module writes change (invalidates cached templates)
LOADED_AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # the server's clock for every row
BASE_DAY = caseload.BASE_DAY
CASES_PER_WORKER = 200
WORKERS_PER_TEAM = 10
ANSWER_POOL = 300  # distinct assessment answer sets
CHUNK_CASES = 200  # cases per COPY round (bounded memory)
DEVICE_SECRET = "city-bench-device-secret"  # the writer laptops' secret (bench data only)
PASSPHRASE = "korrekt häst batteri häftklammer"  # the bench laptops' passphrase
DEVICE_COLUMNS = (
    "id, user_id, name, platform, secret_hash, created_at, last_seen_at, revoked_at, "
    "last_mutation_id, audit_head_seq, audit_head_hash"
)


@dataclasses.dataclass(frozen=True)
class Layout:
    """How the cases are shared: ``teams`` teams of ``workers_per_team`` workers (plus one team
    lead each); case i belongs to worker i mod (teams * workers_per_team)."""

    teams: int
    workers_per_team: int

    @property
    def workers(self) -> int:
        return self.teams * self.workers_per_team

    @staticmethod
    def for_size(size: caseload.Size) -> Layout:
        """About CASES_PER_WORKER cases per worker, teams of up to WORKERS_PER_TEAM."""
        workers = max(1, round(size.cases / CASES_PER_WORKER))
        teams = max(1, -(-workers // WORKERS_PER_TEAM))
        return Layout(teams, max(1, workers // teams))


@dataclasses.dataclass
class Worker:
    user_id: str
    username: str
    team_id: str
    device_id: str
    role: str = Role.WORKER.value
    mutations: int = 0
    audit_seq: int = 0
    audit_hash: str = audit_rules.GENESIS
    counts: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class City:
    """A built city database (a template in the cluster) and what it holds."""

    database: str
    size: caseload.Size
    seed: int
    layout: Layout
    counts: dict[str, int]
    users: list[dict[str, Any]]  # username, id, role, team_id, counts (a worker's own share)
    build_seconds: float
    cached: bool = False

    def user(self, index: int = 0, role: str = Role.WORKER.value) -> dict[str, Any]:
        return [u for u in self.users if u["role"] == role][index]

    def manifest(self) -> dict[str, Any]:
        return {
            "city_version": CITY_VERSION,
            "size": self.size.to_dict(),
            "seed": self.seed,
            "layout": dataclasses.asdict(self.layout),
            "counts": self.counts,
            "users": self.users,
            "build_seconds": round(self.build_seconds, 1),
        }


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg", "postgresql")


def admin_url(pg_url: str) -> str:
    import os

    admin = os.environ.get("FIELDKIT_TEST_PG_ADMIN_URL") or pg_url.rpartition("/")[0] + "/postgres"
    return plain_url(admin)


def database_name(size: caseload.Size, seed: int, layout: Layout) -> str:
    from fieldkit.server.db import migrate  # noqa: F401  (the schema below is the migrations')

    revision = _head_revision()
    return (
        f"fk_city_{size.name.replace('-', '_').replace('.', '_')}_s{seed}"
        f"_t{layout.teams}w{layout.workers_per_team}_v{CITY_VERSION}_r{revision}"
    )[:63]


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import fieldkit.server as server_pkg

    ini = Path(server_pkg.__file__).with_name("alembic.ini")
    cfg = Config(str(ini))
    cfg.set_main_option("script_location", str(ini.with_name("migrations")))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


# --- deterministic ids and times ------------------------------------------------------------


class Ids:
    """UUIDv7-shaped ids from the seeded generator: the time part from the record's own
    creation time (so ids sort by writing time within a case, as UUIDv7 does)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def at(self, when: dt.datetime) -> str:
        ms = int(when.timestamp() * 1000) & ((1 << 48) - 1)
        rand = self.rng.getrandbits(74)
        value = (
            (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & (2**62 - 1))
        )
        return str(uuid.UUID(int=value))


def _ms(when: dt.datetime) -> dt.datetime:
    return when.replace(microsecond=(when.microsecond // 1000) * 1000)


# --- the generator ---------------------------------------------------------------------------


class _Rows:
    """The rows of one COPY round, per table."""

    TABLES: ClassVar[dict[str, str]] = {
        "records": "record_type, id, case_id, version, sealed, body, state, field_versions, "
        "updated_at",
        "case_scope": "case_id, team_id, person_id, owner_id, case_type, status, last_entry_at, "
        "retention_exempt, archived, tombstoned",
        "case_members": "case_id, user_id",
        "changes": "seq, kind, record_type, record_id, case_id, team_id, target_user_id, at",
        "mutation_log": "device_id, mutation_id, name, status, result, applied_at",
        "audit_events": "id, device_id, seq, actor_id, action, record_type, record_id, case_id, "
        "details, at, prev_hash, hash, received_at",
    }

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.TABLES}

    def flush(self, cur: psycopg.Cursor[Any]) -> None:
        for table, columns in self.TABLES.items():
            rows = self.rows[table]
            if not rows:
                continue
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            rows.clear()


def _dumps(data: Any) -> str:
    from fieldkit.server.store import dumps

    return dumps(data)


class Generator:
    def __init__(self, size: caseload.Size, seed: int, layout: Layout) -> None:
        from fieldkit.protocol import MutationResult, MutationStatus

        self.size, self.seed, self.layout = size, seed, layout
        self.rng = random.Random(seed)
        self.ids = Ids(random.Random(seed ^ 0x1D5))
        self.registry = FormRegistry.load()
        self.concern = self.registry.latest(CONCERN_FORM)
        self.seq = 0
        self.out = _Rows()
        # a pool of valid answer sets with their written justifications (validating each
        # assessment's answers costs ~7 ms; 100,000 of them would take minutes)
        from fieldkit.services.assessments import reassessment_date

        pool_rng = random.Random(seed ^ 0xA55E55)
        self.answers = []
        for _ in range(ANSWER_POOL):
            answers = demo_answers(self.concern, pool_rng, BASE_DAY)
            self.answers.append(
                (
                    answers,
                    complete_overrides(self.concern, answers),
                    reassessment_date(self.concern, answers),
                )
            )
        self.counts = dict.fromkeys(
            (
                "cases",
                "persons",
                "notes",
                "linked",
                "signed",
                "assessments",
                "submitted",
                "consents",
                "interventions",
                "audit_events",
                "changes",
                "mutations",
            ),
            0,
        )
        self.teams: list[tuple[str, str]] = []
        self.leads: list[Worker] = []
        self.workers: list[Worker] = []
        created = LOADED_AT - dt.timedelta(days=1000)
        for t in range(layout.teams):
            team_id = self.ids.at(created)
            self.teams.append((team_id, f"Fältgrupp {t + 1:02d} (stad)"))
            self.leads.append(
                Worker(
                    self.ids.at(created),
                    f"city.t{t + 1:02d}.lead",
                    team_id,
                    "",
                    role=Role.TEAM_LEAD.value,
                )
            )
            for w in range(layout.workers_per_team):
                self.workers.append(
                    Worker(
                        self.ids.at(created),
                        f"city.t{t + 1:02d}.w{w + 1:02d}",
                        team_id,
                        self.ids.at(created),
                        counts=dict.fromkeys(("cases", "records"), 0),
                    )
                )
        template = MutationResult(id=1, status=MutationStatus.APPLIED, record_version=7)
        self.result_template = template.model_dump_json()
        assert self.result_template.count('"id":1,') == 1 and '"record_version":7' in (
            self.result_template
        )
        self.plain_result = MutationResult(id=1, status=MutationStatus.APPLIED).model_dump_json()

    # --- bookkeeping as the server's handlers do it -----------------------------------------

    def change(self, record_type: str, record_id: str, case_id: str | None) -> None:
        self.seq += 1
        self.out.rows["changes"].append(
            (self.seq, "upsert", record_type, record_id, case_id, None, None, LOADED_AT)
        )
        self.counts["changes"] += 1

    def mutation(self, w: Worker, name: str, version: int | None) -> None:
        w.mutations += 1
        if version is None:
            result = self.plain_result.replace('"id":1,', f'"id":{w.mutations},', 1)
        else:
            result = self.result_template.replace('"id":1,', f'"id":{w.mutations},', 1).replace(
                '"record_version":7', f'"record_version":{version}', 1
            )
        self.out.rows["mutation_log"].append(
            (w.device_id, w.mutations, name, "applied", result, LOADED_AT)
        )
        self.counts["mutations"] += 1

    def record(
        self,
        w: Worker,
        record_type: str,
        data: dict[str, Any],
        case_id: str | None,
        *,
        version: int = 1,
        sealed: bool = False,
        field_versions: dict[str, int] | None = None,
    ) -> None:
        data = dict(data, device_id=w.device_id)
        data.pop("version", None)
        data.pop("field_versions", None)
        if record_type == "assessment":
            from fieldkit.server.store import split_assessment

            body, state = split_assessment(data)
        else:
            body, state = data, {}
        self.out.rows["records"].append(
            (
                record_type,
                data["id"],
                case_id,
                version,
                sealed,
                _dumps(body),
                _dumps(state),
                _dumps(field_versions) if field_versions is not None else None,
                LOADED_AT,
            )
        )
        if record_type != "person":
            w.counts["records"] += 1

    def audit(
        self,
        w: Worker,
        action: AuditAction,
        at: dt.datetime,
        record_type: str,
        record_id: str | None,
        case_id: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        w.audit_seq += 1
        event = AuditEvent(
            device_id=w.device_id,
            actor_id=w.user_id,
            action=action,
            seq=w.audit_seq,
            record_type=record_type,
            record_id=record_id,
            case_id=case_id,
            details=details or {},
            at=_ms(at),
            prev_hash=w.audit_hash,
            id=self.ids.at(at),
        )
        event = dataclasses.replace(event, hash=audit_rules.event_hash(event))
        w.audit_hash = event.hash
        self.out.rows["audit_events"].append(
            (
                event.id,
                event.device_id,
                event.seq,
                event.actor_id,
                event.action.value,
                record_type,
                record_id,
                case_id,
                json.dumps(to_dict(event)["details"], sort_keys=True),
                event.at,
                event.prev_hash,
                event.hash,
                LOADED_AT,
            )
        )
        self.mutation(w, "audit.append", None)
        self.counts["audit_events"] += 1

    # --- the caseload ---------------------------------------------------------------------------

    def users_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Teams, users (each announced in the feed as ``admin.add_user`` does) and the writer
        laptops (their mutation counts and audit heads are set once the cases are written)."""
        created = LOADED_AT - dt.timedelta(days=1000)
        teams = [(tid, name, created) for tid, name in self.teams]
        users = []
        for u in [*self.leads, *self.workers]:
            users.append((u.user_id, u.username, u.username, u.role, u.team_id, True, 1, created))
            self.seq += 1
            self.out.rows["changes"].append(
                (self.seq, "upsert", "user", u.user_id, None, u.team_id, None, created)
            )
            self.counts["changes"] += 1
        return {"teams": teams, "users": users, "devices": self.devices_rows()}

    def note_counts(self) -> list[int]:
        return caseload._note_counts(self.size, self.rng)

    def cases(self, first: int, last: int, note_counts: list[int], assess: list[int]) -> None:
        rng = self.rng
        size = self.size
        sign_share = max(0.0, min(1.0, (size.audit_events * 0.8 - size.cases) / size.notes))
        types = list(CaseType)
        for index in range(first, last):
            w = self.workers[index % len(self.workers)]
            kind = types[index % len(types)] if index < len(types) else None
            kind = kind or demo_content.case_type(rng)
            dp = demo_content.person(rng)
            start = dt.datetime.combine(BASE_DAY, dt.time(9), dt.UTC) - dt.timedelta(
                days=rng.randint(200, 900)
            )
            created = _ms(start - dt.timedelta(days=1, hours=rng.randint(0, 8)))
            from fieldkit.server.mutations import normalise_person

            person = normalise_person(
                Person(
                    name=dp.name,
                    personnummer=dp.personnummer,
                    protected_identity=dp.protected_identity,
                    address=dp.address,
                    author_id=w.user_id,
                    device_id=w.device_id,
                    id=self.ids.at(created),
                    created_at=created,
                    updated_at=created,
                )
            )
            case = Case(
                person_id=person.id,
                case_type=kind,
                team_id=w.team_id,
                owner_id=w.user_id,
                reference=f"FK-{index:06d}",
                summary=demo_content.summary(kind),
                district=dp.district,
                referral_source=rng.choice(("Skola", "Polis", "Vårdnadshavare", "Egen")),
                author_id=w.user_id,
                device_id=w.device_id,
                id=self.ids.at(created),
                created_at=created,
                updated_at=created,
            )
            cid = case.id
            # case.create: the person (normalised), the case with field versions 0
            self.record(w, "person", to_dict(person), None)
            self.record(
                w,
                "case",
                to_dict(case),
                cid,
                field_versions=dict.fromkeys(EDITABLE_CASE_FIELDS, 0),
            )
            self.mutation(w, "case.create", 1)
            self.change("person", person.id, cid)
            self.change("case", cid, cid)
            self.counts["cases"] += 1
            self.counts["persons"] += 1
            w.counts["cases"] += 1
            self.out.rows["case_members"].append((cid, w.user_id))
            self.audit(
                w,
                AuditAction.CASE_CREATE,
                created,
                "case",
                cid,
                cid,
                {"case_type": kind.value, "protected": person.protected_identity.is_protected},
            )
            last_entry = case.created_at
            signed: list[JournalEntry] = []
            for n in range(note_counts[index]):
                when = _ms(start + dt.timedelta(hours=n * 7 + rng.randint(0, 5)))
                written = when + dt.timedelta(minutes=30)
                if signed and rng.random() < 0.03:
                    link = rng.choice((LinkKind.CORRECTION, LinkKind.SUPPLEMENT))
                    lead = "Rättelse" if link is LinkKind.CORRECTION else "Tillägg"
                    original = rng.choice(signed)
                    entry = JournalEntry(
                        case_id=cid,
                        author_id=w.user_id,
                        text=f"{lead}: " + demo_content.note_text(rng, dp.first, dp.district, 240),
                        author_name=w.username,
                        event_time=written,
                        contact_type=original.contact_type,
                        link_kind=link,
                        link_to=original.id,
                        device_id=w.device_id,
                        id=self.ids.at(written),
                        created_at=written,
                        updated_at=written,
                    )
                    sign = True
                    self.counts["linked"] += 1
                else:
                    sign = rng.random() < sign_share
                    entry = JournalEntry(
                        case_id=cid,
                        author_id=w.user_id,
                        text=demo_content.note_text(rng, dp.first, dp.district),
                        author_name=w.username,
                        event_time=when,
                        contact_type=demo_content.contact_type(rng),
                        place=rng.choice(demo_content.PLACES),
                        device_id=w.device_id,
                        id=self.ids.at(written),
                        created_at=written,
                        updated_at=written,
                    )
                self.counts["notes"] += 1
                # note.create (a draft), then note.sign: version 2, sealed
                self.mutation(w, "note.create", 1)
                self.change("note", entry.id, cid)
                last_entry = max(last_entry, entry.event_time, entry.created_at)
                if sign:
                    entry = journal.sign(entry, w.user_id, written + dt.timedelta(minutes=5))
                    assert entry.state is NoteState.SIGNED
                    self.record(w, "note", to_dict(entry), cid, version=2, sealed=True)
                    self.mutation(w, "note.sign", 2)
                    self.change("note", entry.id, cid)
                    self.audit(
                        w,
                        AuditAction.SIGN,
                        entry.signed_at or written,
                        "note",
                        entry.id,
                        cid,
                        {"content_hash": entry.content_hash},
                    )
                    signed.append(entry)
                    self.counts["signed"] += 1
                    last_entry = max(last_entry, entry.signed_at or written)
                else:
                    self.record(w, "note", to_dict(entry), cid)
            for k in range(assess[index]):
                answers, overrides, due = self.answers[rng.randrange(len(self.answers))]
                made = _ms(start + dt.timedelta(days=3 + k * 30))
                a = Assessment(
                    case_id=cid,
                    form_id=self.concern.id,
                    form_version=self.concern.version,
                    author_id=w.user_id,
                    answers=answers,
                    overrides=overrides,
                    reassessment_due=due,
                    device_id=w.device_id,
                    id=self.ids.at(made),
                    created_at=made,
                    updated_at=made,
                )
                self.counts["assessments"] += 1
                self.mutation(w, "assessment.save_draft", 1)
                self.change("assessment", a.id, cid)
                if k == 0 and rng.random() < 0.6:
                    a = assessment_rules.submit(
                        a, w.user_id, Role.WORKER, made + dt.timedelta(hours=2)
                    )
                    self.record(w, "assessment", to_dict(a), cid, version=2, sealed=True)
                    self.mutation(w, "assessment.submit", 2)
                    self.change("assessment", a.id, cid)
                    self.audit(
                        w,
                        AuditAction.ASSESSMENT_SUBMIT,
                        a.submitted_at or made,
                        "assessment",
                        a.id,
                        cid,
                        {"content_hash": a.content_hash, "form": f"{a.form_id}@{a.form_version}"},
                    )
                    self.counts["submitted"] += 1
                else:
                    self.record(w, "assessment", to_dict(a), cid)
            if rng.random() < 0.4:
                when = _ms(start + dt.timedelta(days=2))
                c = Consent(
                    case_id=cid,
                    person_id=person.id,
                    given_by=ConsentGiver.GUARDIAN,
                    given_by_name="Vårdnadshavare (mamma)",
                    recipients=("Skolan", "Polisen i Järva"),
                    information="Uppgifter om närvaro, mående och pågående insatser",
                    purpose="SSPF-samverkan kring stöd i skola och fritid",
                    valid_from=BASE_DAY - dt.timedelta(days=rng.randint(10, 60)),
                    valid_until=BASE_DAY + dt.timedelta(days=rng.choice((-5, 90, 180))),
                    author_id=w.user_id,
                    device_id=w.device_id,
                    id=self.ids.at(when),
                    created_at=when,
                    updated_at=when,
                )
                self.record(w, "consent", to_dict(c), cid)
                self.mutation(w, "consent.record", 1)
                self.change("consent", c.id, cid)
                self.counts["consents"] += 1
            if rng.random() < 0.5:
                when = _ms(start + dt.timedelta(days=4))
                i = Intervention(
                    case_id=cid,
                    kind=rng.choice(
                        (InterventionKind.MENTOR, InterventionKind.SSPF, InterventionKind.EXIT)
                    ),
                    start_date=BASE_DAY - dt.timedelta(days=rng.randint(5, 90)),
                    description="Regelbundna träffar varannan vecka.",
                    responsible="Fältgruppen",
                    author_id=w.user_id,
                    device_id=w.device_id,
                    id=self.ids.at(when),
                    created_at=when,
                    updated_at=when,
                )
                self.record(w, "intervention", to_dict(i), cid)
                self.mutation(w, "intervention.record", 1)
                self.change("intervention", i.id, cid)
                self.counts["interventions"] += 1
            # case reads up to the log's share so far (a worker's day adds them): the size's
            # audit count in total, unless the signatures alone exceed it
            read_at = _ms(start + dt.timedelta(days=10))
            due = size.audit_events * (index + 1) // size.cases
            while self.counts["audit_events"] < due:
                self.audit(w, AuditAction.CASE_READ, read_at, "case", cid, cid)
                read_at += dt.timedelta(hours=3)
            self.out.rows["case_scope"].append(
                (
                    cid,
                    w.team_id,
                    person.id,
                    w.user_id,
                    kind.value,
                    "open",
                    last_entry,
                    False,
                    False,
                    False,
                )
            )

    def run(self, cur: psycopg.Cursor[Any], progress: Callable[[str], None] | None) -> None:
        size = self.size
        note_counts = self.note_counts()
        assess = [size.assessments // size.cases] * size.cases
        for i in range(size.assessments - sum(assess)):
            assess[i % size.cases] += 1
        started = time.perf_counter()
        # users first: the feed announces them before any case (admin.add_user)
        head = self.users_rows()
        with cur.copy("COPY teams (id, name, created_at) FROM STDIN") as copy:
            for row in head["teams"]:
                copy.write_row(row)
        with cur.copy(
            "COPY users (id, username, display_name, role, team_id, active, version, created_at) "
            "FROM STDIN"
        ) as copy:
            for row in head["users"]:
                copy.write_row(row)
        with cur.copy(f"COPY devices ({DEVICE_COLUMNS}) FROM STDIN") as copy:
            for row in head["devices"]:
                copy.write_row(row)
        for first in range(0, size.cases, CHUNK_CASES):
            self.cases(first, min(size.cases, first + CHUNK_CASES), note_counts, assess)
            # case_scope before case_members (foreign key)
            self.out.flush(cur)
            if progress:
                done = self.counts["notes"]
                rate = done / max(time.perf_counter() - started, 1e-9)
                cases = f"{self.counts['cases']:,}/{size.cases:,} cases"
                progress(f"  {cases}, {done:,} notes ({rate:,.0f}/s)")
        # each writer laptop's state as its pushes left it (audit_append, sync.push)
        cur.executemany(
            "UPDATE devices SET last_mutation_id = %s, audit_head_seq = %s, audit_head_hash = %s "
            "WHERE id = %s",
            [(w.mutations, w.audit_seq, w.audit_hash, w.device_id) for w in self.workers],
        )
        cur.execute("UPDATE feed_counter SET value = %s WHERE id = 1", (self.seq,))

    def devices_rows(self) -> list[tuple[Any, ...]]:
        from fieldkit.server.identity import hash_secret

        created = LOADED_AT - dt.timedelta(days=1000)
        return [
            (
                w.device_id,
                w.user_id,
                "city bench laptop",
                "bench",
                hash_secret(DEVICE_SECRET),
                created,
                LOADED_AT,
                None,
                w.mutations,
                w.audit_seq,
                w.audit_hash,
            )
            for w in self.workers
        ]


# --- building and caching ---------------------------------------------------------------------


def _comment(conn: psycopg.Connection[Any], name: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    with contextlib.suppress(ValueError):
        return dict(json.loads(row[0]))
    return None


def build(
    pg_url: str,
    size: caseload.Size,
    seed: int = 2026,
    layout: Layout | None = None,
    *,
    use_cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> City:
    """The city database of ``size`` in the cluster (built once, then found by name)."""
    from fieldkit.server.db import make_engine, migrate

    layout = layout or Layout.for_size(size)
    name = database_name(size, seed, layout)
    admin = admin_url(pg_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        manifest = _comment(conn, name)
        if manifest is not None and use_cache:
            return _city(name, manifest, cached=True)
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        building = f"{name[:54]}_building"
        conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{building}"')
    url = f"{pg_url.rpartition('/')[0]}/{building}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    started = time.perf_counter()
    gen = Generator(size, seed, layout)
    with psycopg.connect(plain_url(url)) as conn, conn.cursor() as cur:
        gen.run(cur, progress)
        conn.commit()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    took = time.perf_counter() - started
    users = [
        {
            "username": u.username,
            "id": u.user_id,
            "role": u.role,
            "team_id": u.team_id,
            "counts": u.counts,
        }
        for u in [*gen.leads, *gen.workers]
    ]
    city = City(name, size, seed, layout, gen.counts, users, took)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        text = json.dumps(city.manifest(), ensure_ascii=False).replace("'", "''")
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")
    return city


def _city(name: str, m: dict[str, Any], cached: bool) -> City:
    return City(
        name,
        caseload.Size(**m["size"]),
        int(m["seed"]),
        Layout(**m["layout"]),
        m["counts"],
        m["users"],
        float(m["build_seconds"]),
        cached=cached,
    )


BIG_TEMPLATE = 256 * 2**20


def create_copy(conn: psycopg.Connection[Any], template: str, name: str) -> None:
    """A copy of a template database. A big one is copied file by file and checkpointed at
    creation (FILE_COPY), so the measurements that follow do not compete with the WAL of a
    multi-GB copy being flushed; a small one through the WAL (cheaper: no checkpoints)."""
    row = conn.execute("SELECT pg_database_size(%s)", (template,)).fetchone()
    big = row is not None and int(row[0]) > BIG_TEMPLATE
    strategy = " STRATEGY = FILE_COPY" if big else ""
    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')


@contextlib.contextmanager
def copy_of(pg_url: str, city: City) -> Iterator[str]:
    """A private copy of the city database (the template stays as built); yields its URL."""
    admin = admin_url(pg_url)
    name = f"fk_bench_city_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        create_copy(conn, city.database, name)
    try:
        yield f"{pg_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop(pg_url: str, city: City) -> None:
    with psycopg.connect(admin_url(pg_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{city.database}" WITH (FORCE)')


# --- what a worker may see, counted on the server ---------------------------------------------

SCOPED_COUNTS = """
WITH mine AS (SELECT case_id FROM case_members WHERE user_id = %(user)s)
SELECT r.record_type, count(*) FROM records r
WHERE r.case_id IN (SELECT case_id FROM mine)
GROUP BY r.record_type
UNION ALL
SELECT 'person', count(*) FROM records r
WHERE r.record_type = 'person' AND r.id IN (
  SELECT person_id FROM case_scope WHERE case_id IN (SELECT case_id FROM mine)
    AND NOT tombstoned)
"""


def scoped_counts(url: str, user_id: str) -> dict[str, int]:
    """Per record type, how many records the worker may see (the server's scope rule)."""
    with psycopg.connect(plain_url(url)) as conn:
        rows = conn.execute(SCOPED_COUNTS, {"user": user_id}).fetchall()
    return {str(t): int(n) for t, n in rows if n}


def digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


if __name__ == "__main__":  # build (or show) a city: python benchmarks/city.py city [team-0.1]
    import os
    import sys

    import run as bench_run

    wanted = bench_run.size_named(sys.argv[1] if len(sys.argv) > 1 else "city")
    pg = os.environ.get("FIELDKIT_TEST_PG_URL")
    if not pg:
        raise SystemExit("run under tests/env/with-services.sh (FIELDKIT_TEST_PG_URL)")
    built = build(pg, wanted, progress=lambda m: print(m, flush=True))
    print(json.dumps({k: v for k, v in built.manifest().items() if k != "users"}, indent=2))


# --- a real server on a copy of the city, and a worker's laptop ---------------------------------


def city_server(pg_url: str, city: City, procs: int = 1) -> Any:
    """fieldkit-server (uvicorn processes, as deployed) on a private copy of the city database;
    ``close()`` stops it and drops the copy. A ``sync_figures.BenchServer`` in all but its
    creation, so the same helpers (enrolment codes, CPU clocks) apply."""
    import sync_figures
    from fieldkit.server.db import make_engine, read_meta, session_factory
    from fieldkit.server.identity import LocalIdentityProvider
    from fieldkit.server.settings import ServerSettings

    server = sync_figures.BenchServer.__new__(sync_figures.BenchServer)
    server.admin = admin_url(pg_url)
    server.name = f"fk_bench_city_{secrets.token_hex(4)}"
    with psycopg.connect(server.admin, autocommit=True) as conn:
        create_copy(conn, city.database, server.name)
    try:
        server.url = f"{pg_url.rpartition('/')[0]}/{server.name}"
        server.engine = make_engine(server.url)
        server.factory = session_factory(server.engine)
        with server.factory() as session:
            meta = read_meta(session)
        server.server_id = str(meta["server_id"])
        server.identity = LocalIdentityProvider(
            server.factory, ServerSettings(db_url=server.url), meta["secret"]
        )
        server.procs, server.ports, server.last_clock = [], [], ""
        server.start(procs)
    except BaseException:
        server.close()
        raise
    return server


def enroll_worker(server: Any, username: str, data_dir: Path) -> Any:
    """A fresh laptop of ``username``: a real enrolment with a one-time code (device secret in
    the real keyring), a real profile and SQLCipher vault. Returns the open session."""
    from fieldkit.security import SecurityPolicy
    from fieldkit.services.sync import enroll

    code = server.code_for(username)
    fast = SecurityPolicy(argon2_target_seconds=0.01)  # key derivation is measured on its own
    return enroll(
        data_dir, code, PASSPHRASE, server_url=server.url0, allow_http_loopback=True, config=fast
    )


def vault_counts(session: Any) -> dict[str, int]:
    """Per record type, the server-known records in the laptop's vault."""
    from fieldkit.protocol import RecordType
    from fieldkit.sync.engine import sync_repo

    repo = sync_repo(session.vault)
    out = {}
    for t in RecordType:
        n = len(repo.record_versions(t.value))
        if n:
            out[t.value] = n
    return out


def check_faithful(server: Any, user: dict[str, Any], session: Any, report: Any) -> list[str]:
    """What does not match after a first sync with the integrity check: the server's own
    integrity digest (a mismatch there makes the engine re-pull), and the laptop's counts per
    type against the worker's scoped counts on the server. Empty when faithful."""
    problems = []
    if not report.integrity_checked:
        problems.append("the integrity check did not run")
    if report.integrity_mismatches or report.resynced:
        problems.append(f"integrity mismatch: {report.integrity_mismatches}")
    expected = scoped_counts(server.url, user["id"])
    got = vault_counts(session)
    for record_type, n in expected.items():
        if got.get(record_type, 0) != n:
            problems.append(f"{record_type}: laptop {got.get(record_type, 0)}, server {n}")
    return problems


def is_built(
    pg_url: str, size: caseload.Size, seed: int = 2026, layout: Layout | None = None
) -> bool:
    """Whether the city database of this size is in the cluster already (no build needed)."""
    name = database_name(size, seed, layout or Layout.for_size(size))
    try:
        with psycopg.connect(admin_url(pg_url), autocommit=True) as conn:
            return _comment(conn, name) is not None
    except psycopg.Error:
        return False
