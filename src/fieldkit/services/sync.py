"""Sync use cases: enrol a laptop, sync now, the sync status, conflicts and rejected changes.

The CLI (``fieldkit enroll``, ``sync``, ``conflicts``) and the GUI both call these. The device
credential is kept only inside the encrypted vault (``vault.meta``); the server address is
recorded in the profile (``profile.json``) and in the vault.

Revocation: when the server says ``device_revoked`` the profile is wiped at once (vault, key
slots, keyring entry, profile.json) and ``DeviceRevoked`` is raised so the user is told why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import platform
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldkit.domain.codec import _encode
from fieldkit.domain.enums import Role
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import EDITABLE_CASE_FIELDS, replace
from fieldkit.errors import N_, ExitCode, FieldkitError, InvalidInput, NotFound, Refused
from fieldkit.protocol.messages import (
    DEFAULT_PULL_LIMIT,
    MAX_BATCH_MUTATIONS,
    MAX_PULL_LIMIT,
    EnrollResponse,
    MutationName,
)
from fieldkit.services.profile import (
    Identity,
    Session,
    create_profile,
    profile_exists,
    read_profile,
    security_policy,
    wipe_profile,
)
from fieldkit.storage.sync_repo import ConflictRecord, NeedsAttention, SyncRepo
from fieldkit.sync.backoff import Backoff
from fieldkit.sync.engine import (
    META_CURSOR,
    META_DEVICE,
    META_ID_OFFSET,
    META_LAST_MUTATION,
    META_LAST_SUCCESS,
    META_OWN_WRITES,
    META_SERVER,
    ProgressCallback,
    SyncEngine,
    run_here,
    sync_repo,
)
from fieldkit.sync.errors import DeviceRevoked, NotEnrolled, SyncError
from fieldkit.sync.scheduler import SyncScheduler
from fieldkit.sync.status import SyncReport, SyncStatus
from fieldkit.sync.transport import DeviceCredential, Transport, validate_server_url

log = logging.getLogger("fieldkit.services.sync")

RESOLUTIONS = ("mine", "theirs", "merged")
# Tuning knobs for diagnosis and the crash tests (smaller pages and batches, more instants to
# be interrupted at). Bounded by the protocol's limits.
ENV_PULL_LIMIT = "FIELDKIT_SYNC_PULL_LIMIT"
ENV_PUSH_BATCH = "FIELDKIT_SYNC_PUSH_BATCH"


def _env_int(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return max(low, min(high, value))


class ServerManaged(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "server_managed"


class AlreadyEnrolled(Refused):
    code = "profile_exists"


# --- configuration ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    url: str | None
    allow_http_loopback: bool
    url_managed: bool


def server_settings(config: Any = None) -> ServerSettings:
    """The server address and http-on-loopback permission from fieldkit.config (policy wins)."""
    if config is None:
        try:
            from fieldkit.config.loader import load_config

            config = load_config()
        except Exception:  # a broken policy file must not stop sync; built-in defaults
            log.warning("configuration could not be loaded for sync; using defaults")
            config = None
    url = _config_get(config, "server_url")
    allow = bool(_config_get(config, "allow_http_loopback") or False)
    managed = False
    is_managed = getattr(config, "is_managed", None)
    if callable(is_managed):
        with contextlib.suppress(Exception):
            managed = bool(is_managed("server_url"))
    return ServerSettings(url=url or None, allow_http_loopback=allow, url_managed=managed)


def _config_get(config: Any, name: str) -> Any:
    if config is None:
        return None
    if isinstance(config, dict):
        return config.get(name)
    getter = getattr(config, "get", None)
    if callable(getter):
        with contextlib.suppress(Exception):
            return getter(name)
    return getattr(config, name, None)


# --- enrolment --------------------------------------------------------------------------------


def choose_server_url(given: str | None, settings: ServerSettings) -> str:
    """The address to enrol with: the managed policy's if there is one, else the given one."""
    if settings.url_managed and settings.url:
        if given and given.rstrip("/") != settings.url.rstrip("/"):
            raise ServerManaged(
                N_("The server address is set by your organisation's policy ({url})."),
                N_("Leave out --server, or ask IT to change the policy."),
                url=settings.url,
            )
        return settings.url
    url = given or settings.url
    if not url:
        raise InvalidInput(
            N_("No server address was given."),
            N_("Give it with --server https://... (IT tells you the address)."),
        )
    return url


def enroll(
    data_dir: Path,
    code: str,
    passphrase: str,
    *,
    server_url: str | None = None,
    allow_http_loopback: bool = False,
    device_name: str | None = None,
    config: Any = None,
) -> Session:
    """Enrol this laptop: check the server, exchange the one-time code for a device credential,
    create the profile with the identity the server gives, and keep the credential inside the
    vault. Returns the open session. An existing profile is refused before the code is spent."""
    settings = server_settings(config)
    url = validate_server_url(
        choose_server_url(server_url, settings),
        allow_http_loopback=allow_http_loopback or settings.allow_http_loopback,
    )
    allow = allow_http_loopback or settings.allow_http_loopback
    data_dir = Path(data_dir)
    if profile_exists(data_dir):
        # Enrolling a profile that already holds work would send that work under another
        # device's (or user's) name: its audit chain and authorship belong to the old identity.
        server = read_profile(data_dir).server_url
        raise AlreadyEnrolled(
            N_("A fieldkit profile enrolled with {url} already exists in {path}.")
            if server
            else N_("A fieldkit profile already exists in {path}."),
            N_(
                "Enrolment creates a new profile: choose another --data-dir. A revoked laptop "
                "is wiped first; ask IT if this one must be enrolled again."
            ),
            path=str(data_dir),
            url=server or "",
        )
    # A weak passphrase must be refused before the one-time code is spent.
    from fieldkit.security import check_passphrase

    check_passphrase(passphrase, security_policy(config))
    with Transport(url, allow_http_loopback=allow) as transport:
        transport.health()
        answer = transport.enroll(
            code.strip(),
            device_name=device_name or platform.node(),
            platform=f"{platform.system()} {platform.release()}".strip(),
        )
    session = create_profile(data_dir, passphrase, _identity(answer, url), config)
    try:
        _store_enrolment(session, answer, url, allow)
    except BaseException:
        session._close_quietly()
        raise
    log.info("laptop enrolled")
    return session


def _identity(answer: EnrollResponse, url: str) -> Identity:
    user = answer.user
    return Identity(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=Role(user.role),
        team_id=user.team_id or "",
        team_name=user.team_name or "",
        device_id=answer.device_id,
        server_url=url,
    )


def _store_enrolment(session: Session, answer: EnrollResponse, url: str, allow: bool) -> None:
    vault = session.vault
    with vault.transaction():
        vault.meta.set(
            META_DEVICE,
            DeviceCredential(answer.device_id, answer.device_secret).to_meta(),
        )
        vault.meta.set(
            META_SERVER,
            {"url": url, "server_id": answer.server_id, "allow_http_loopback": allow},
        )
        # A new device on the server starts its mutation ids and its change feed afresh.
        vault.meta.set(META_CURSOR, "")
        vault.meta.set(META_LAST_MUTATION, 0)
        vault.meta.set(META_ID_OFFSET, None)
        vault.meta.set(META_OWN_WRITES, None)  # what another device wrote is not this one's


# --- the sync service -------------------------------------------------------------------------


class SyncService:
    """Sync for one open session: cycles, status, scheduler. The GUI keeps one; the CLI makes
    one per command.

    ``run_on_db`` runs a function on the thread that owns the vault (the GUI's DB worker) and
    returns its result; the default runs it on the calling thread."""

    def __init__(
        self,
        session: Session,
        *,
        on_progress: ProgressCallback | None = None,
        on_revoked: Callable[[DeviceRevoked], None] | None = None,
        run_on_db: Callable[[Callable[[], Any]], Any] = run_here,
        config: Any = None,
        pull_limit: int | None = None,
        batch_mutations: int | None = None,
    ) -> None:
        self.session = session
        # Tuning: the GUI asks for smaller pages and batches, so no single parse or write of a
        # cycle holds the interpreter long while the user types (the environment still wins).
        self._pull_limit = pull_limit or DEFAULT_PULL_LIMIT
        self._batch_mutations = batch_mutations or MAX_BATCH_MUTATIONS
        self.on_progress = on_progress
        self.on_revoked = on_revoked
        self._db = run_on_db
        self._config = config if config is not None else session.config
        self._engine: SyncEngine | None = None
        self._lock = threading.Lock()
        self.online: bool | None = None
        self.last_attempt: Any = None
        self.last_error: FieldkitError | None = None
        self.scheduler: SyncScheduler | None = None
        self.wiped = False

    # -- engine

    def _make_engine(self) -> SyncEngine:
        device, server = self._db(
            lambda: (
                self.session.vault.meta.get(META_DEVICE),
                self.session.vault.meta.get(META_SERVER) or {},
            )
        )
        url = server.get("url") or self.session.identity.server_url
        if not device or not url:
            raise NotEnrolled(
                N_("This laptop is not enrolled with a fieldkit server."),
                N_("Enrol it with 'fieldkit enroll --server URL --code CODE'."),
            )
        settings = server_settings(self._config)
        transport = Transport(
            url,
            credential=DeviceCredential.from_meta(device),
            allow_http_loopback=bool(server.get("allow_http_loopback"))
            or settings.allow_http_loopback,
            expected_server_id=server.get("server_id"),
        )
        return SyncEngine(
            self.session.vault,
            transport,
            on_progress=self.on_progress,
            run_on_db=self._db,
            pull_limit=_env_int(ENV_PULL_LIMIT, self._pull_limit, 1, MAX_PULL_LIMIT),
            batch_mutations=_env_int(ENV_PUSH_BATCH, self._batch_mutations, 1, MAX_BATCH_MUTATIONS),
        )

    @property
    def engine(self) -> SyncEngine:
        with self._lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    def run_cycle(self, *, integrity: bool | None = None) -> SyncReport:
        """One full cycle. On ``device_revoked`` the profile is wiped and the error re-raised."""
        if self.wiped:
            raise self._revoked_error()
        self.last_attempt = utcnow()
        try:
            report = self.engine.run_cycle(integrity=integrity)
        except DeviceRevoked as exc:
            self._wipe(exc)
            raise
        except SyncError as exc:
            self.last_error = exc
            if exc.code in ("server_unreachable", "not_a_fieldkit_server"):
                self.online = False
            raise
        except FieldkitError as exc:
            self.last_error = exc
            raise
        self.online = True
        self.last_error = None
        return report

    @staticmethod
    def _revoked_error() -> DeviceRevoked:
        return DeviceRevoked(
            N_(
                "This laptop has been revoked by your organisation, so its local data "
                "has been wiped."
            ),
            N_("Contact IT to enrol the laptop again."),
        )

    def _wipe(self, exc: DeviceRevoked) -> None:
        log.warning("device revoked by the server: wiping the local profile")
        self.wiped = True
        self.last_error = exc
        data_dir = self.session.data_dir
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._engine.transport.close()
        with contextlib.suppress(Exception):
            self._db(self.session._close_quietly)
        wipe_profile(data_dir)
        if self.on_revoked:
            with contextlib.suppress(Exception):
                self.on_revoked(exc)

    # -- status

    def status(self) -> SyncStatus:
        base = self._db(lambda: status(self.session))
        scheduler = self.scheduler
        return dataclasses.replace(
            base,
            online=scheduler.online if scheduler and scheduler.online is not None else self.online,
            syncing=bool(self._engine and self._engine.running),
            last_attempt=self.last_attempt,
            last_error=self.last_error.code if self.last_error else None,
            last_error_message=_render(self.last_error) if self.last_error else None,
            next_attempt_in=scheduler.next_attempt_in() if scheduler else None,
        )

    # -- scheduler

    def start_scheduler(
        self,
        *,
        push_delay: float = 3.0,
        pull_interval: float | None = None,
        on_result: Callable[[SyncReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        backoff: Backoff | None = None,
    ) -> SyncScheduler:
        """Background sync for the GUI (see fieldkit.sync.scheduler). Call ``notify_edit()``
        after each local write and ``stop()`` on close or lock."""
        if pull_interval is None:
            minutes = _config_get(self._config, "sync_interval_minutes") or 5
            pull_interval = float(minutes) * 60.0
        self.scheduler = SyncScheduler(
            self.run_cycle,
            push_delay=push_delay,
            pull_interval=pull_interval,
            on_result=on_result,
            on_error=on_error,
            on_state=on_state,
            backoff=backoff,
        )
        self.scheduler.start()
        return self.scheduler

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop(flush=not self.wiped)
        if self._engine is not None:
            self._engine.transport.close()


def _render(error: FieldkitError) -> str:
    from fieldkit.i18n import render

    return render(error)


def sync_now(
    session: Session,
    *,
    on_progress: ProgressCallback | None = None,
    integrity: bool | None = None,
) -> SyncReport:
    """One full cycle (the ``fieldkit sync`` command)."""
    service = SyncService(session, on_progress=on_progress)
    try:
        return service.run_cycle(integrity=integrity)
    finally:
        service.close()


def status(session: Session) -> SyncStatus:
    """What the vault knows: enrolment, pending, needs attention, conflicts, last success."""
    vault = session.vault
    repo = _repo(session)
    server = vault.meta.get(META_SERVER) or {}
    last = vault.meta.get(META_LAST_SUCCESS)
    return SyncStatus(
        enrolled=vault.meta.get(META_DEVICE) is not None,
        server_url=server.get("url") or session.identity.server_url,
        online=None,
        syncing=False,
        pending=int(vault.outbox.count()),
        needs_attention=repo.count_needs_attention(),
        conflicts=repo.count_conflicts(),
        last_success=_parse_time(last),
    )


def _parse_time(value: Any) -> Any:
    if not value:
        return None
    import datetime as dt

    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _repo(session: Session) -> SyncRepo:
    return sync_repo(session.vault)


# --- needs attention ---------------------------------------------------------------------------


def list_needs_attention(
    session: Session, *, include_dismissed: bool = False
) -> list[NeedsAttention]:
    """Changes the server refused, with its reason; their content stays in the vault."""
    return _repo(session).needs_attention(include_dismissed=include_dismissed)


def dismiss_needs_attention(session: Session, mutation_id: int) -> None:
    """The worker has dealt with a refused change: out of the open list, still kept."""
    vault = session.vault
    with vault.transaction():
        if not _repo(session).dismiss(mutation_id):
            raise NotFound(
                N_("No open rejected change number {id}."),
                N_("List them with 'fieldkit sync attention'."),
                id=mutation_id,
            )


# --- conflicts --------------------------------------------------------------------------------


def list_conflicts(session: Session, *, include_resolved: bool = False) -> list[ConflictRecord]:
    return _repo(session).conflicts(include_resolved=include_resolved)


def find_conflict(session: Session, conflict_id: str) -> ConflictRecord:
    matches = _repo(session).find_conflicts(conflict_id.strip())
    if len(matches) != 1:
        raise NotFound(
            N_("No single conflict matches {id}.")
            if not matches
            else N_("More than one conflict starts with {id}; give more of the id."),
            N_("List the conflicts with 'fieldkit conflicts list'."),
            id=conflict_id,
        )
    return matches[0]


def resolve_conflict(
    session: Session,
    conflict_id: str,
    resolution: str,
    merged_value: Any = None,
) -> ConflictRecord:
    """The worker's decision on a conflict:

    - ``mine``: the worker's value wins: a new ``case.set_fields`` with the server's current
      field version as base;
    - ``theirs``: the server's value stays (already in the vault);
    - ``merged``: a value written by hand (e.g. both texts combined) is sent like ``mine``.

    For an assessment conflict the conflicted copy stays as a draft whatever is decided; the
    decision records that the worker has seen it."""
    if resolution not in RESOLUTIONS:
        raise InvalidInput(
            N_("Unknown decision {resolution} (choose mine, theirs or merged)."),
            resolution=resolution,
        )
    conflict = find_conflict(session, conflict_id)
    if not conflict.is_open:
        raise Refused(
            N_("This conflict has already been decided ({resolution})."),
            resolution=conflict.resolution or "",
        )
    if resolution == "merged" and merged_value is None:
        raise InvalidInput(
            N_("A merged decision needs the merged text."),
            N_("Give it with --text or --text-file."),
        )
    value = {"mine": conflict.local_value, "theirs": conflict.server_value}.get(
        resolution, merged_value
    )
    vault = session.vault
    repo = _repo(session)
    with vault.transaction():
        if (
            resolution != "theirs"
            and conflict.record_type == "case"
            and conflict.field in EDITABLE_CASE_FIELDS
        ):
            _send_case_field(session, conflict.record_id, conflict.field, value)
        repo.resolve_conflict(conflict.id, resolution, value)
    log.info("conflict decided: %s", resolution)
    resolved = repo.get_conflict(conflict.id)
    assert resolved is not None
    return resolved


def _send_case_field(session: Session, case_id: str, field: str, value: Any) -> None:
    """Put the decided value in the local case and queue it for the server, based on the
    server's current field version (what the vault holds after the pull)."""
    from fieldkit.domain.codec import from_dict, to_dict
    from fieldkit.domain.records import Case

    vault = session.vault
    case = vault.cases.get(case_id)
    if case is None:
        raise NotFound(
            N_("The case of this conflict is no longer on this laptop."),
            N_("It may have been closed or moved; ask your team lead."),
        )
    decoded = from_dict(Case, {**to_dict(case), field: value})
    if getattr(decoded, field) != getattr(case, field):
        vault.cases.put(replace(case, **{field: getattr(decoded, field)}, updated_at=utcnow()))
    versions = dict(vault.cases.field_versions(case_id) or {})
    vault.outbox.append(
        MutationName.CASE_SET_FIELDS,
        {
            "case_id": case_id,
            "changes": {field: _encode(getattr(decoded, field))},
            "base_versions": {field: int(versions.get(field, 0))},
        },
    )


__all__ = [
    "RESOLUTIONS",
    "ServerSettings",
    "SyncService",
    "choose_server_url",
    "dismiss_needs_attention",
    "enroll",
    "find_conflict",
    "list_conflicts",
    "list_needs_attention",
    "resolve_conflict",
    "server_settings",
    "status",
    "sync_now",
]
