"""Reusable helpers for tests that need a real fieldkit-server: a migrated database, teams,
users, enrolled devices with access tokens, and builders for mutations.

Usage (any test package may import this module)::

    from server_helpers import ServerWorld, migrated_sqlite_url

    world = ServerWorld(migrated_sqlite_url(tmp_path))      # or a pg_database URL
    team = world.team("Fältgruppen Syd")
    anna = world.device("anna", role="worker", team=team)   # user + enrolment + token
    anna.push(anna.mutation("case.create", **case_args(anna)))
    changes = anna.pull_all()

``ServerWorld.url_app`` gives the ASGI app for an httpx transport; ``serve_on_loopback`` runs a
real uvicorn for end-to-end tests.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import functools
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain import audit as audit_rules
from fieldkit.domain import journal
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import (
    AuditAction,
    CaseType,
    ConsentGiver,
    InterventionKind,
    LegalBasis,
    RecipientKind,
    ReviewDecision,
    ReviewOutcome,
    Role,
)
from fieldkit.domain.ids import new_id, utcnow
from fieldkit.domain.records import (
    Assessment,
    AuditEvent,
    Case,
    Consent,
    Disclosure,
    Intervention,
    JournalEntry,
    Person,
    Review,
)
from fieldkit.server import admin
from fieldkit.server.app import create_app
from fieldkit.server.db import make_engine, migrate, read_meta
from fieldkit.server.identity import LocalIdentityProvider
from fieldkit.server.settings import ServerSettings


def migrated_sqlite_url(directory: Path) -> str:
    url = f"sqlite:///{directory / 'server.db'}"
    migrate_url(url)
    return url


def migrate_url(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@dataclasses.dataclass
class Device:
    """An enrolled device as the sync client sees it, with a TestClient to talk through."""

    world: ServerWorld
    username: str
    user_id: str
    role: str
    team_id: str | None
    device_id: str
    secret: str
    token: str
    next_id: int = 1
    audit_head: AuditEvent | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh_token(self) -> None:
        r = self.world.client.post(
            "/v1/auth/token", json={"device_id": self.device_id, "device_secret": self.secret}
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]

    def mutation(self, name: str, **args: Any) -> dict[str, Any]:
        m = {
            "id": self.next_id,
            "name": name,
            "args": args,
            "created_at": to_dict(Person(name="x"))["created_at"],
        }
        self.next_id += 1
        return m

    def push_raw(self, mutations: list[dict[str, Any]]) -> httpx.Response:
        return self.world.client.post(
            "/v1/sync/push", json={"protocol": 1, "mutations": mutations}, headers=self.headers
        )

    def push(self, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
        r = self.push_raw(list(mutations))
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def push_one(self, name: str, **args: Any) -> dict[str, Any]:
        return self.push(self.mutation(name, **args))[0]

    def pull(self, cursor: str = "", limit: int = 500) -> httpx.Response:
        return self.world.client.get(
            "/v1/sync/pull", params={"cursor": cursor, "limit": limit}, headers=self.headers
        )

    def pull_all(self, cursor: str = "", limit: int = 500) -> tuple[list[dict[str, Any]], str]:
        changes: list[dict[str, Any]] = []
        while True:
            r = self.pull(cursor, limit)
            assert r.status_code == 200, r.text
            body = r.json()
            changes.extend(body["changes"])
            cursor = body["cursor"]
            if not body["has_more"]:
                return changes, cursor

    def integrity(self) -> dict[str, dict[str, Any]]:
        r = self.world.client.get("/v1/sync/integrity", headers=self.headers)
        assert r.status_code == 200, r.text
        return {c["record_type"]: c for c in r.json()["counts"]}

    def audit_events(
        self, n: int, action: AuditAction = AuditAction.CASE_READ, case_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The next ``n`` events of this device's hash chain."""
        out = []
        for _ in range(n):
            event = audit_rules.chain(
                AuditEvent(
                    device_id=self.device_id,
                    actor_id=self.user_id,
                    action=action,
                    seq=0,
                    record_type="case" if case_id else "",
                    record_id=case_id,
                    case_id=case_id,
                ),
                self.audit_head,
            )
            self.audit_head = event
            out.append(to_dict(event))
        return out


class ServerWorld:
    """A migrated database, the app over it, and admin operations to populate it."""

    def __init__(self, db_url: str, **settings: Any) -> None:
        self.db_url = db_url
        settings.setdefault("log_requests", False)
        self.settings = ServerSettings(db_url=db_url, **settings)
        self.app: FastAPI = create_app(self.settings)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.factory = self.app.state.factory
        self.identity: LocalIdentityProvider = self.app.state.identity
        self.teams: dict[str, str] = {}

    def close(self) -> None:
        self.client.close()
        self.app.state.engine.dispose()

    def meta(self) -> dict[str, str]:
        with self.factory() as session:
            return read_meta(session)

    def team(self, name: str) -> str:
        with self.factory() as session, session.begin():
            team = admin.add_team(session, self.identity, name)
            self.teams[name] = team.id
            return team.id

    def user(
        self, username: str, role: str = "worker", team: str | None = None, display_name: str = ""
    ) -> str:
        with self.factory() as session, session.begin():
            return admin.add_user(session, self.identity, username, role, team, display_name).id

    def enroll_code(self, username: str, ttl: dt.timedelta | None = None) -> str:
        with self.factory() as session, session.begin():
            user = self.identity.user_by_name(session, username)
            code, _ = self.identity.create_enroll_code(session, user, ttl)
            return code

    def enroll(self, username: str) -> Device:
        code = self.enroll_code(username)
        r = self.client.post(
            "/v1/enroll",
            json={"code": code, "device_name": f"{username}-laptop", "platform": "linux"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        t = self.client.post(
            "/v1/auth/token",
            json={"device_id": body["device_id"], "device_secret": body["device_secret"]},
        )
        assert t.status_code == 200, t.text
        user = body["user"]
        return Device(
            self,
            username,
            user["id"],
            user["role"],
            user["team_id"],
            body["device_id"],
            body["device_secret"],
            t.json()["access_token"],
        )

    def device(self, username: str, role: str = "worker", team: str | None = None) -> Device:
        """A new user and an enrolled device with a fresh token."""
        self.user(username, role, team)
        return self.enroll(username)

    def revoke(self, device_id: str) -> None:
        with self.factory() as session, session.begin():
            self.identity.revoke_device(session, device_id)


# --- record builders (wire dicts, as codec.to_dict makes them) --------------------------


def case_args(
    dev: Device,
    *,
    case_type: CaseType = CaseType.INDIVIDUAL_AT_RISK,
    assigned: tuple[str, ...] = (),
    personnummer: str | None = None,
    person_name: str = "Testperson",
    **case_fields: Any,
) -> dict[str, Any]:
    person = Person(name=person_name, personnummer=personnummer, author_id=dev.user_id)
    case = Case(
        person_id=person.id,
        case_type=case_type,
        team_id=dev.team_id or "",
        owner_id=dev.user_id,
        assigned_ids=assigned,
        author_id=dev.user_id,
        **case_fields,
    )
    return {"case": to_dict(case), "person": to_dict(person)}


def note_dict(
    dev: Device,
    case_id: str,
    text: str = "Hembesök, samtal om skolan.",
    signed: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    entry = JournalEntry(
        case_id=case_id, author_id=dev.user_id, author_role=Role(dev.role), text=text, **fields
    )
    if signed:
        entry = journal.sign(entry, dev.user_id)
    return to_dict(entry)


def signed(note: dict[str, Any], signer_id: str) -> dict[str, Any]:
    from fieldkit.domain.codec import from_dict

    return to_dict(journal.sign(from_dict(JournalEntry, note), signer_id))


@functools.cache
def concern_answers(level: str) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """Complete answers to the shipped concern form (the server checks them against it), with
    the overall level ``level``: form id, version, answers, overrides."""
    from fieldkit.forms.registry import default_registry
    from fieldkit.services.demo import CONCERN_FORM, complete_overrides, demo_answers

    form = default_registry().latest(CONCERN_FORM)
    answers = {**demo_answers(form, random.Random(7), dt.date(2026, 3, 2)), "S1": level}
    return form.id, form.version, answers, complete_overrides(form, answers)


def assessment_dict(
    dev: Device, case_id: str, *, submit: bool = False, level: str = "moderate", **fields: Any
) -> dict[str, Any]:
    form_id, version, answers, overrides = concern_answers(level)
    a = Assessment(
        case_id=case_id,
        form_id=form_id,
        form_version=version,
        author_id=dev.user_id,
        answers=copy.deepcopy(answers),
        overrides=dict(overrides),
        reassessment_due=dt.date.today() + dt.timedelta(days=90),
        **fields,
    )
    if submit:
        a = assessment_rules.submit(a, dev.user_id, Role(dev.role))
    return to_dict(a)


def review_dict(
    dev: Device,
    assessment: dict[str, Any],
    outcome: ReviewOutcome,
    comment: str = "Välgrundad bedömning.",
) -> dict[str, Any]:
    return to_dict(
        Review(
            assessment_id=assessment["id"],
            case_id=assessment["case_id"],
            reviewer_id=dev.user_id,
            decision=ReviewDecision.AGREE,
            outcome=outcome,
            comment=comment,
        )
    )


def consent_dict(dev: Device, case_id: str, person_id: str, **fields: Any) -> dict[str, Any]:
    return to_dict(
        Consent(
            case_id=case_id,
            person_id=person_id,
            given_by=ConsentGiver.PERSON,
            given_by_name="Testperson",
            recipients=("Polisen",),
            information="Kontaktuppgifter",
            purpose="SSPF-samverkan",
            valid_from=dt.date.today(),
            author_id=dev.user_id,
            **fields,
        )
    )


def disclosure_dict(dev: Device, case_id: str, person_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"legal_basis": LegalBasis.NECESSARY_DISCLOSURE}
    values.update(fields)
    return to_dict(
        Disclosure(
            case_id=case_id,
            person_id=person_id,
            recipient="Polisen",
            recipient_kind=RecipientKind.POLICE,
            information="Oro för våld",
            disclosed_at=utcnow(),
            author_id=dev.user_id,
            **values,
        )
    )


def intervention_dict(dev: Device, case_id: str, **fields: Any) -> dict[str, Any]:
    return to_dict(
        Intervention(
            case_id=case_id,
            kind=InterventionKind.EXIT,
            start_date=dt.date.today(),
            author_id=dev.user_id,
            **fields,
        )
    )


def fresh_id() -> str:
    return new_id()


# --- a real server on loopback ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_on_loopback(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
