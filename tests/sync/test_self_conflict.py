"""A worker's own earlier edit is never a conflict: editing a case field several times before a
sync ends with the last value on the server and nothing in the conflicts list. A real conflict
(someone else changed the field since) is still one, and a push whose answer was lost changes
nothing of that. Real vaults, a real server on loopback (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_harness import Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.protocol.messages import MutationName
from fieldkit.services import cases
from fieldkit.services import sync as sync_service
from fieldkit.sync.engine import META_DEVICE, SyncEngine
from fieldkit.sync.errors import ServerUnreachable
from fieldkit.sync.status import SyncReport
from fieldkit.sync.transport import DeviceCredential, Transport

pytestmark = pytest.mark.keyring


def server_case(db: ServerDB, case_id: str) -> dict[str, Any]:
    body = db.scalar("SELECT body FROM records WHERE record_type = 'case' AND id = :c", c=case_id)
    return dict(json.loads(body))


def set_fields_log(db: ServerDB, device_id: str) -> list[str]:
    """The statuses the server gave this device's ``case.set_fields`` mutations, in order."""
    return [st for _id, name, st in device_log(db, device_id) if name == "case.set_fields"]


def device_log(db: ServerDB, device_id: str) -> list[tuple[int, str, str]]:
    return [
        (int(r[0]), str(r[1]), str(r[2]))
        for r in db.rows(
            "SELECT mutation_id, name, status FROM mutation_log WHERE device_id = :d "
            "ORDER BY mutation_id",
            d=device_id,
        )
    ]


def open_conflicts(laptop: Laptop) -> list[Any]:
    with laptop.session() as s:
        return list(sync_service.list_conflicts(s))


def new_case(laptop: Laptop, summary: str = "Första kontakt.") -> str:
    with laptop.session() as s:
        case_id = cases.create_case(
            s, CaseType.INDIVIDUAL_AT_RISK, "Kim Andersson", summary=summary
        ).id
    laptop.sync()
    return case_id


def edit(laptop: Laptop, case_id: str, **changes: Any) -> None:
    with laptop.session() as s:
        cases.set_case_fields(s, case_id, **changes)


def test_two_edits_of_one_field_before_a_sync_leave_the_second_and_no_conflict(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    case_id = new_case(anna)
    edit(anna, case_id, summary="Samtal med mamma, oro för skolgången.")
    edit(anna, case_id, summary="Samtal med mamma och skolan; mentor utsedd.")
    report = anna.sync()
    assert report.conflicts == 0
    assert open_conflicts(anna) == []
    assert (
        server_case(server_db, case_id)["summary"] == "Samtal med mamma och skolan; mentor utsedd."
    )
    with anna.session() as s:
        assert s.vault.cases.get(case_id).summary == "Samtal med mamma och skolan; mentor utsedd."
        assert MutationName.CASE_SET_FIELDS not in {r.name for r in s.vault.outbox.pending()}
    assert set_fields_log(server_db, anna.device_id) == ["applied", "applied"]


def test_three_edits_across_two_fields_end_with_the_last_of_each(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    case_id = new_case(anna)
    edit(anna, case_id, summary="Första versionen.")
    edit(anna, case_id, summary="Andra versionen.", district="Söder")
    edit(anna, case_id, district="Norr", next_contact="2027-02-03")
    report = anna.sync()
    assert report.conflicts == 0 and open_conflicts(anna) == []
    on_server = server_case(server_db, case_id)
    assert (on_server["summary"], on_server["district"], on_server["next_contact"]) == (
        "Andra versionen.",
        "Norr",
        "2027-02-03",
    )
    # a later round of edits on top of the synced ones (bases from the pull) works the same
    edit(anna, case_id, district="Väster")
    edit(anna, case_id, district="Öster")
    assert anna.sync().conflicts == 0 and open_conflicts(anna) == []
    assert server_case(server_db, case_id)["district"] == "Öster"


def test_another_device_editing_first_is_still_a_conflict_and_nothing_is_lost(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    case_id = new_case(anna)
    with anna.session() as s:
        cases.assign_case(s, case_id, [team["bo"]])
    anna.sync()
    bo.sync()
    edit(anna, case_id, summary="Anna 1: hembesök gjort.")
    edit(anna, case_id, summary="Anna 2: hembesök gjort, uppföljning i maj.")
    edit(bo, case_id, summary="Bo: skolan har ringt.")
    bo.sync()
    report = anna.sync()
    assert report.conflicts == 2  # as before: each of her edits meets bo's change
    conflicts = open_conflicts(anna)
    assert {c.field for c in conflicts} == {"summary"}
    assert {c.server_value for c in conflicts} == {"Bo: skolan har ringt."}
    # anna's latest text is kept for her decision; the server keeps bo's
    assert "Anna 2: hembesök gjort, uppföljning i maj." in {c.local_value for c in conflicts}
    assert server_case(server_db, case_id)["summary"] == "Bo: skolan har ringt."
    # anna keeps her own text in each decision, oldest first: the decisions are her own
    # consecutive edits and the last one stands, with no new conflict
    with anna.session() as s:
        for conflict in sorted(conflicts, key=lambda c: c.mutation_id or 0):
            sync_service.resolve_conflict(s, conflict.id, "mine")
    assert anna.sync().conflicts == 0 and open_conflicts(anna) == []
    final = "Anna 2: hembesök gjort, uppföljning i maj."
    assert server_case(server_db, case_id)["summary"] == final
    bo.sync()
    with bo.session() as s:
        assert s.vault.cases.get(case_id).summary == final


def test_another_device_editing_between_my_two_pushes_is_a_conflict(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    """anna's first edit reaches the server; bo then changes the field; anna's second edit
    (written before she saw bo's) must be a conflict, not silently overwrite bo's text."""
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    case_id = new_case(anna)
    with anna.session() as s:
        cases.assign_case(s, case_id, [team["bo"]])
    anna.sync()
    bo.sync()
    edit(anna, case_id, summary="Anna 1.")
    edit(anna, case_id, summary="Anna 2.")
    pushes = 0

    def between(request: httpx.Request, response: httpx.Response) -> None:
        nonlocal pushes
        if request.url.path == "/v1/sync/push":
            pushes += 1
            if pushes == 1:  # anna's first batch is answered: bo edits, after pulling it
                bo.sync()
                edit(bo, case_id, summary="Bo: skolan har ringt.")
                bo.sync()

    with anna.session() as s:
        engine = engine_with(s, live_server.url, after=between)
        try:
            engine.run_cycle(integrity=False)
        finally:
            engine.transport.close()
    assert pushes >= 2
    assert server_case(server_db, case_id)["summary"] == "Bo: skolan har ringt."
    [conflict] = open_conflicts(anna)
    assert (conflict.field, conflict.server_value, conflict.local_value) == (
        "summary",
        "Bo: skolan har ringt.",
        "Anna 2.",
    )


class _Hooked(httpx.HTTPTransport):
    """A real HTTP transport that lets a test act after the server answered a request, or lose
    that answer (the request reached and changed the server; the laptop never reads the answer,
    as when the connection dies on the way back)."""

    def __init__(
        self,
        after: Callable[[httpx.Request, httpx.Response], None] | None = None,
        lose: Callable[[httpx.Request], bool] | None = None,
        block: Callable[[httpx.Request], bool] | None = None,
    ) -> None:
        super().__init__()
        self.after = after
        self.lose = lose
        self.block = block  # the network is down for this request: it never leaves

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.block is not None and self.block(request):
            raise httpx.ConnectError("network unreachable", request=request)
        response = super().handle_request(request)
        response.read()
        if self.after is not None:
            self.after(request, response)
        if self.lose is not None and self.lose(request):
            response.close()
            raise httpx.ReadError("connection reset before the answer arrived", request=request)
        return response


def engine_with(
    session: Any,
    url: str,
    *,
    after: Callable[[httpx.Request, httpx.Response], None] | None = None,
    lose: Callable[[httpx.Request], bool] | None = None,
    block: Callable[[httpx.Request], bool] | None = None,
    batch_mutations: int = 100,
) -> SyncEngine:
    device = session.vault.meta.get(META_DEVICE)
    transport = Transport(
        url,
        credential=DeviceCredential.from_meta(device),
        allow_http_loopback=True,
        transport=_Hooked(after, lose, block),
    )
    return SyncEngine(
        session.vault, transport, integrity_interval=None, batch_mutations=batch_mutations
    )


@pytest.mark.parametrize("batch", [1, 100])
def test_a_push_whose_answer_was_lost_still_ends_with_the_last_value(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
    batch: int,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    case_id = new_case(anna)
    edit(anna, case_id, summary="Version 1.")
    edit(anna, case_id, summary="Version 2.", district="Söder")
    with anna.session() as s:
        lost = {"n": 0}

        def lose_first_push(request: httpx.Request) -> bool:
            # the first batch that holds an edit of the case (with batch=1: the first edit)
            edits = request.url.path == "/v1/sync/push" and b"case.set_fields" in request.content
            if edits and lost["n"] == 0:
                lost["n"] += 1
                return True
            return False

        engine = engine_with(s, live_server.url, lose=lose_first_push, batch_mutations=batch)
        try:
            with pytest.raises(ServerUnreachable):
                engine.run_cycle(integrity=False)
            assert lost["n"] == 1
            assert set_fields_log(server_db, anna.device_id)  # the edit reached the server...
            pending = [r.name for r in s.vault.outbox.pending(limit=1000)]
            assert pending.count("case.set_fields") == 2  # ...and the laptop does not know it
            # the worker goes on editing before the next attempt
            cases.set_case_fields(s, case_id, summary="Version 3.")
            report = engine.run_cycle(integrity=False)
        finally:
            engine.transport.close()
        assert report.duplicates >= 1 and report.conflicts == 0
        assert MutationName.CASE_SET_FIELDS not in {r.name for r in s.vault.outbox.pending()}
        assert s.vault.cases.get(case_id).summary == "Version 3."
        assert sync_service.list_conflicts(s) == []
    on_server = server_case(server_db, case_id)
    assert (on_server["summary"], on_server["district"]) == ("Version 3.", "Söder")
    assert set_fields_log(server_db, anna.device_id) == ["applied"] * 3
    assert anna.sync().conflicts == 0 and open_conflicts(anna) == []


def test_a_resent_batch_is_answered_as_before_and_changes_nothing(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    """The same batch sent twice (the first answer never recorded): the second delivery is all
    duplicates and the last value stays."""
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    case_id = new_case(anna)
    edit(anna, case_id, summary="Ett.")
    edit(anna, case_id, summary="Två.")
    sent: list[bytes] = []

    def remember(request: httpx.Request, response: httpx.Response) -> None:
        if request.url.path == "/v1/sync/push":
            sent.append(request.content)

    with anna.session() as s:
        engine = engine_with(s, live_server.url, after=remember)
        try:
            report = engine.run_cycle(integrity=False)
            assert report.conflicts == 0
            for body in list(sent):  # every batch again, as a laptop that lost the answers would
                answer = engine.transport._client.post(
                    "/v1/sync/push",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {engine.transport.access_token()}",
                    },
                )
                assert answer.status_code == 200
                assert {r["status"] for r in answer.json()["results"]} == {"duplicate"}
        finally:
            engine.transport.close()
        assert sync_service.list_conflicts(s) == []
    assert server_case(server_db, case_id)["summary"] == "Två."


def test_edits_queued_while_a_push_is_under_way_and_after_a_pull_are_not_conflicts(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    """The worker edits while the first edit is on its way (same base), the network goes down,
    the next pull brings the first edit's version, and the worker edits again (a newer base):
    every one of them is this laptop's own, and the last value wins without a conflict."""
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    case_id = new_case(anna)
    edit(anna, case_id, summary="Ett.")
    with anna.session() as s:
        pushes = 0

        def edit_during_push(request: httpx.Request, response: httpx.Response) -> None:
            nonlocal pushes
            if request.url.path == "/v1/sync/push" and b"case.set_fields" in request.content:
                pushes += 1
                if pushes == 1:  # "Ett." is applied, its answer on the way back
                    cases.set_case_fields(s, case_id, summary="Två.")

        def offline_after_first(request: httpx.Request) -> bool:
            return request.url.path == "/v1/sync/push" and pushes >= 1

        engine = engine_with(s, live_server.url, after=edit_during_push, block=offline_after_first)
        try:
            with pytest.raises(ServerUnreachable):
                engine.run_cycle(integrity=False)
            engine.pull(SyncReport())  # the pull gets through: the vault now holds "Ett."'s version
        finally:
            engine.transport.close()
        assert s.vault.cases.get(case_id).summary == "Två."  # the unsent edit stays on top
        cases.set_case_fields(s, case_id, summary="Tre.")
        bases = [
            r.args["base_versions"]["summary"]
            for r in s.vault.outbox.pending()
            if r.name == MutationName.CASE_SET_FIELDS
        ]
        assert len(bases) == 2 and bases[0] < bases[1]  # "Två." older base than "Tre."
    report = anna.sync()
    assert report.conflicts == 0 and open_conflicts(anna) == []
    assert server_case(server_db, case_id)["summary"] == "Tre."
    with anna.session() as s:
        assert s.vault.cases.get(case_id).summary == "Tre."
        assert s.vault.meta.get("sync.own_field_writes") is None  # nothing left to remember


# --- the rules alone (fieldkit.sync.own_writes) -------------------------------------------------


class _Row:
    def __init__(self, name: str, args: dict[str, Any]) -> None:
        self.name, self.args = name, args


def _set(case_id: str, base: int, **changes: str) -> _Row:
    return _Row(
        "case.set_fields",
        {"case_id": case_id, "changes": changes, "base_versions": dict.fromkeys(changes, base)},
    )


def test_a_batch_holds_one_write_per_case_field_and_never_none() -> None:
    from fieldkit.sync.own_writes import cut_batch

    note = _Row("note.create", {"note": {"case_id": "c"}})
    rows = [note, _set("c", 1, summary="a"), _set("d", 1, summary="b"), _set("c", 1, district="x")]
    assert cut_batch(rows) == rows  # different cases or fields: one batch
    again = [*rows, _set("c", 1, summary="a2"), note]
    assert cut_batch(again) == rows  # the repeat starts the next batch
    assert cut_batch(again[4:]) == again[4:]
    assert cut_batch([_set("c", 1, summary="a"), _set("c", 1, summary="b")])[0].args["changes"] == {
        "summary": "a"
    }


def test_only_bases_within_the_own_run_are_rebased_and_the_row_is_never_changed() -> None:
    from fieldkit.protocol.messages import FieldConflict, MutationResult, MutationStatus
    from fieldkit.protocol.messages import RecordType as RT
    from fieldkit.sync.own_writes import rebased_args, remember

    own: dict[str, dict[str, list[int]]] = {}
    first = _set("c", 3, summary="a")
    assert remember(
        own, first.name, first.args, MutationResult(id=1, status="applied", record_version=7)
    )
    assert own == {"c": {"summary": [3, 7]}}
    second = _set("c", 3, summary="b", district="x")
    sent = rebased_args(second.name, second.args, own)
    assert sent["base_versions"] == {"summary": 7, "district": 3}
    assert second.args["base_versions"] == {"summary": 3, "district": 3}  # the row as written
    older = _set("c", 2, summary="z")  # based on something before our run: sent as written
    assert rebased_args(older.name, older.args, own) is older.args
    # a duplicate whose first answer applied summary and reported district as a conflict
    conflict = FieldConflict(record_type=RT.CASE, record_id="c", field="district", base_version=3)
    replay = MutationResult(
        id=2,
        status=MutationStatus.DUPLICATE,
        original_status=MutationStatus.CONFLICT,
        record_version=8,
        conflicts=[conflict],
    )
    assert remember(own, second.name, second.args, replay)
    assert own == {"c": {"summary": [3, 8]}}  # the run goes on; district was not ours
    # a replay without its first answer, or a rejection, teaches nothing
    unknown = MutationResult(id=3, status=MutationStatus.DUPLICATE)
    refused = MutationResult(id=3, status=MutationStatus.REJECTED, record_version=9)
    assert not remember(own, second.name, second.args, unknown)
    assert not remember(own, second.name, second.args, refused)
    # a write on a base outside the run (after someone else's change) starts a new run
    newer = _set("c", 12, summary="n")
    assert remember(
        own, newer.name, newer.args, MutationResult(id=4, status="applied", record_version=13)
    )
    assert own == {"c": {"summary": [12, 13]}}


def test_a_run_is_kept_while_a_queued_edit_or_the_vault_may_need_it() -> None:
    from fieldkit.sync.own_writes import prune

    own = {"c": {"summary": [3, 8]}, "gone": {"district": [1, 2]}}
    held = {"c": {"summary": 8}}
    assert prune(own, [_set("c", 3, summary="q")], held.get)  # the case that left goes
    assert own == {"c": {"summary": [3, 8]}}  # a queued edit of the field keeps the run
    assert not prune(own, [], {"c": {"summary": 5}}.get)  # the vault has not pulled 8 yet
    assert prune(own, [_set("c", 8, district="x")], held.get)
    assert own == {}
