"""Who is calling: teams, users, enrolment codes, device credentials and access tokens.

``IdentityProvider`` is the seam: the API asks it to turn a bearer token into a ``Principal``
and an enrolment code into a device. ``LocalIdentityProvider`` keeps users in this database; an
OIDC provider would implement the same interface (users and roles from the identity provider's
claims, enrolment authorised by an OIDC login instead of a code) without touching the routes.

Secrets at rest: an enrolment code is stored as HMAC-SHA256(server secret, normalised code) and a
device secret (256 random bits) as its SHA-256. Neither can be recovered from the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from fieldkit.domain.enums import Role
from fieldkit.domain.ids import is_id, new_id, utcnow
from fieldkit.errors import N_, ExitCode, FieldkitError, InvalidInput, NotFound
from fieldkit.protocol import ErrorCode, UserInfo
from fieldkit.server.db import Prepared
from fieldkit.server.errors import ApiError, device_revoked, unauthorized
from fieldkit.server.models import Device, EnrollAttempt, EnrollCode, Team, User
from fieldkit.server.ratelimit import client_source
from fieldkit.server.settings import ServerSettings

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_LENGTH = 10
TOKEN_PREFIX = "fk1"  # noqa: S105 - a format marker, not a secret
# How many verified access tokens a process remembers (LocalIdentityProvider._verified): more
# than the devices one process serves within a token's lifetime.
VERIFIED_TOKENS = 4096


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: str
    username: str
    display_name: str
    role: Role
    team_id: str | None
    device_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class IdentityProvider(Protocol):
    def enroll(
        self, code: str, device_name: str, platform: str, client_ip: str
    ) -> tuple[Device, str, UserInfo]: ...

    def issue_token(self, device_id: str, device_secret: str) -> tuple[str, int, UserInfo]: ...

    def check_token(self, token: str) -> None:
        """Refuse (401) a token that is malformed or not signed by this service, without
        touching the database; ``authenticate`` does the rest."""
        ...

    def authenticate(
        self, token: str, session: Session | None = None, *, lock_device: bool = False
    ) -> Principal: ...

    def expected_caller(self, token: str) -> Principal | None:
        """Who this token's device was when this process last authenticated it, or None: a
        guess at which statement a request will need, never an authentication."""
        ...

    def caller_of(self, token: str, row: DeviceRow | None) -> Principal:
        """``authenticate`` on the device's row (``DEVICE_SELECT``'s columns) read by the
        request's own statement: the same checks, the same refusals."""
        ...


def normalise_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return cleaned.translate(_CROCKFORD_ALIASES)


def format_code(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def new_code() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(CODE_LENGTH))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def clean_text(text: str, limit: int = 200) -> str:
    """Text for a plain column: PostgreSQL refuses NUL characters in text."""
    return text.replace("\x00", "\ufffd")[:limit]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# session.info key of the caller's device row, locked by ``authenticate(lock_device=True)``
LOCKED_DEVICE = "fieldkit.locked_device"


@dataclass(slots=True)
class DeviceRow:
    """The caller's device row with its user's columns, as plain data. A push holds the row
    locked and goes on with it: it changes ``last_mutation_id`` and the audit chain's head here
    and writes them once, at the end of the batch (``sync.push``)."""

    id: str
    user_id: str
    revoked_at: dt.datetime | None
    last_mutation_id: int
    audit_head_seq: int
    audit_head_hash: str
    username: str | None
    display_name: str | None
    role: str | None
    team_id: str | None
    active: bool | None


_DEVICE_COLUMNS = [getattr(Device, name) for name in list(DeviceRow.__slots__)[:6]]  # type: ignore[attr-defined]
_USER_COLUMNS = (User.username, User.display_name, User.role, User.team_id, User.active)
# The caller's device row (``DeviceRow``'s columns) for the device ``device_id``.
DEVICE_SELECT = (
    select(*_DEVICE_COLUMNS, *_USER_COLUMNS)
    .outerjoin(User, User.id == Device.user_id)
    .where(Device.id == bindparam("device_id"))
)
# Every request asks one of these (a pull the first, a push the second, which locks the row):
# built once, run on the driver directly.
_DEVICE = Prepared(DEVICE_SELECT)
_LOCKED_DEVICE = Prepared(DEVICE_SELECT.with_for_update(of=Device))
# How many devices' last callers a process remembers (``expected_caller``).
EXPECTED_CALLERS = 4096


def lock_device_row(session: Session, device_id: str) -> DeviceRow | None:
    """The device's row, locked (``FOR UPDATE``) until the session's transaction ends."""
    found = _LOCKED_DEVICE.rows(session, {"device_id": device_id})
    return DeviceRow(*found[0]) if found else None


class AdminError(FieldkitError):
    exit_code = ExitCode.REFUSED
    code = "refused"


class LocalIdentityProvider:
    """Users, codes and devices kept in the server's own database."""

    def __init__(
        self, factory: sessionmaker[Session], settings: ServerSettings, server_secret: str
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._code_key = bytes.fromhex(server_secret)
        self._token_key = (settings.token_secret or server_secret).encode("utf-8")
        # Tokens whose signature has been checked, by their text: a sync is two requests, and
        # each asked for the signature twice (before its body is read and when the caller is
        # authenticated), with the same token for its whole lifetime. Only a token this
        # service signed is remembered (a refused one raises, and nothing is kept), so the
        # memo holds at most this many of the live tokens; an evicted one is checked again.
        # Expiry and revocation are not remembered: ``_principal`` asks them every time.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS)(self._verify_signature)
        # Each device's caller as last authenticated here (see ``expected_caller``).
        self._expected: dict[str, Principal] = {}

    # --- administration (the CLI) -------------------------------------------------------
    def add_team(self, session: Session, name: str) -> Team:
        name = name.strip()
        if not name:
            raise InvalidInput(N_("A team needs a name."))
        if session.scalar(select(Team).where(Team.name == name)) is not None:
            raise AdminError(N_("A team named {name} already exists."), name=name)
        team = Team(id=new_id(), name=name, created_at=utcnow())
        session.add(team)
        session.flush()  # later rows of this transaction may refer to it
        return team

    def team_by_name_or_id(self, session: Session, ref: str) -> Team:
        team = session.scalar(select(Team).where((Team.name == ref) | (Team.id == ref)))
        if team is None:
            raise NotFound(
                N_("No team named {name}."),
                N_("List teams with `fieldkit-server team list`."),
                name=ref,
            )
        return team

    def add_user(
        self, session: Session, username: str, role: Role, team: Team | None, display_name: str = ""
    ) -> User:
        username = username.strip()
        if not username or len(username) > 100 or any(ch.isspace() for ch in username):
            raise InvalidInput(N_("A username is 1–100 characters without spaces."))
        if role is not Role.ADMIN and team is None:
            raise InvalidInput(N_("A worker or team lead belongs to a team (--team)."))
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise AdminError(N_("The username {username} is taken."), username=username)
        user = User(
            id=new_id(),
            username=username,
            display_name=display_name or username,
            role=role.value,
            team_id=team.id if team else None,
            active=True,
            version=1,
            created_at=utcnow(),
        )
        session.add(user)
        session.flush()  # later rows of this transaction may refer to it
        return user

    def user_by_name(self, session: Session, username: str) -> User:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(
                N_("No user named {username}."),
                N_("List the users with `fieldkit-server user list`."),
                username=username,
            )
        return user

    def create_enroll_code(
        self, session: Session, user: User, ttl: dt.timedelta | None = None
    ) -> tuple[str, dt.datetime]:
        if not user.active:
            raise AdminError(N_("The user {username} is deactivated."), username=user.username)
        raw = new_code()
        now = utcnow()
        expires = now + (ttl or dt.timedelta(hours=self._settings.enroll_code_ttl_hours))
        session.add(
            EnrollCode(
                id=new_id(),
                code_hash=self._code_hash(raw),
                user_id=user.id,
                created_at=now,
                expires_at=expires,
            )
        )
        return format_code(raw), expires

    def revoke_device(self, session: Session, device_id: str) -> Device:
        device = session.get(Device, device_id)
        if device is None:
            raise NotFound(
                N_("No device with id {device_id}."),
                N_("List the devices and their ids with `fieldkit-server device list`."),
                device_id=device_id,
            )
        if device.revoked_at is None:
            device.revoked_at = utcnow()
        return device

    # --- the API ------------------------------------------------------------------------
    def _code_hash(self, raw: str) -> str:
        return hmac.new(self._code_key, raw.encode("ascii"), hashlib.sha256).hexdigest()

    def _check_rate(self, session: Session, source: str, now: dt.datetime) -> None:
        """Refuse (429) an enrolment from a source that has failed too often, or while the
        whole service is being guessed at; checked before the code is, so a guesser learns
        nothing from an answer over the limit (the code is short: a right one must wait too).

        ``source`` is ``ratelimit.client_source``'s: an IPv4 address or an IPv6 /64, so one
        client cannot rotate addresses past its own limit. The numbers (ServerSettings, per
        ``enroll_window_seconds`` = 15 minutes; docs/server.md, "Identity"):

        - per source, 10 failures: a laptop's user who mistypes, or a municipality's NAT
          where a few people mistype at once, stays far below it; a guesser gets 960 guesses
          a day from one address.
        - in all, 5,000 failures (``enroll_failures_global``): a ceiling on guessing however
          many addresses it comes from, at 480,000 guesses a day. A code is 10 Crockford
          characters, 50 bits (1.1e15 values); with 1,000 codes valid at once (more than a
          whole municipality's rollout) a guess hits with p = 9e-13, a day at the ceiling
          with 4e-7, a year with 1.6e-4. Reaching it takes 500 sources each at its own
          limit: one misbehaving client, one NAT or one IPv6 network cannot lock the others
          out (it locked everyone out at 200, 20 addresses' worth, before)."""
        since = now - dt.timedelta(seconds=self._settings.enroll_window_seconds)
        failed = (
            select(func.count())
            .select_from(EnrollAttempt)
            .where(EnrollAttempt.at >= since, EnrollAttempt.success.is_(False))
        )
        per_ip = session.scalar(failed.where(EnrollAttempt.client_ip == source)) or 0
        overall = session.scalar(failed) or 0
        if (
            per_ip >= self._settings.enroll_failures_per_ip
            or overall >= self._settings.enroll_failures_global
        ):
            raise ApiError(
                429,
                ErrorCode.RATE_LIMITED,
                "Too many enrolment attempts; wait and try again.",
                {"retry_after": self._settings.enroll_window_seconds},
            )

    def enroll(
        self, code: str, device_name: str, platform: str, client_ip: str
    ) -> tuple[Device, str, UserInfo]:
        now = utcnow()
        client_ip = client_source(client_ip)  # what the attempts are counted against
        with self._factory() as session:
            with session.begin():
                self._check_rate(session, client_ip, now)
            raw = normalise_code(code)
            with session.begin():
                row = None
                if len(raw) == CODE_LENGTH and all(ch in CROCKFORD for ch in raw):
                    row = session.scalar(
                        select(EnrollCode)
                        .where(EnrollCode.code_hash == self._code_hash(raw))
                        .with_for_update()
                    )
                user = session.get(User, row.user_id) if row is not None else None
                if (
                    row is None
                    or user is None
                    or not user.active
                    or row.used_at is not None
                    or row.expires_at <= now
                ):
                    session.add(EnrollAttempt(client_ip=client_ip[:64], at=now, success=False))
                    failed = True
                else:
                    failed = False
                    secret = secrets.token_urlsafe(32)
                    device = Device(
                        id=new_id(),
                        user_id=user.id,
                        name=clean_text(device_name),
                        platform=clean_text(platform, 100),
                        secret_hash=hash_secret(secret),
                        created_at=now,
                        last_seen_at=now,
                        last_mutation_id=0,
                        audit_head_seq=0,
                        audit_head_hash="0" * 64,
                    )
                    session.add(device)
                    # single use, even under a race: only one UPDATE finds it unused
                    claimed = session.execute(
                        update(EnrollCode)
                        .where(EnrollCode.id == row.id, EnrollCode.used_at.is_(None))
                        .values(used_at=now, device_id=device.id)
                    ).rowcount  # type: ignore[attr-defined]
                    if not claimed:
                        raise unauthorized("The enrolment code is not valid.")
                    session.add(EnrollAttempt(client_ip=client_ip[:64], at=now, success=True))
                    info = self.user_info(session, user)
            if failed:
                # Unknown, used and expired codes answer alike: a guesser learns nothing.
                raise unauthorized("The enrolment code is not valid, used or expired.")
            return device, secret, info

    def user_info(self, session: Session, user: User) -> UserInfo:
        team = session.get(Team, user.team_id) if user.team_id else None
        return UserInfo(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=Role(user.role).value,  # type: ignore[arg-type]
            team_id=user.team_id,  # type: ignore[arg-type]
            team_name=team.name if team else None,
        )

    def issue_token(self, device_id: str, device_secret: str) -> tuple[str, int, UserInfo]:
        if not is_id(device_id):
            raise unauthorized("Unknown device or wrong device secret.")
        with self._factory() as session, session.begin():
            device = session.get(Device, device_id)
            if device is None or not hmac.compare_digest(
                device.secret_hash, hash_secret(device_secret)
            ):
                raise unauthorized("Unknown device or wrong device secret.")
            if device.revoked_at is not None:
                raise device_revoked()
            user = session.get(User, device.user_id)
            if user is None or not user.active:
                raise unauthorized("The user of this device is deactivated.")
            now = utcnow()
            device.last_seen_at = now
            ttl = self._settings.access_token_ttl_seconds
            # Rounded up, so a token lives at least the `expires_in` it is sent with. Rounded
            # down, a one-second token issued at 12:00:00.9 was refused from 12:00:01.
            exp = math.ceil(now.timestamp()) + ttl
            token = self._sign({"d": device.id, "u": user.id, "exp": exp})
            return token, ttl, self.user_info(session, user)

    def _sign(self, payload: dict[str, object]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self._token_key, f"{TOKEN_PREFIX}.{body}".encode(), hashlib.sha256)
        return f"{TOKEN_PREFIX}.{body}.{_b64(mac.digest())}"

    def _verify(self, token: str) -> dict[str, object]:
        """The claims of ``token`` if this service signed it (401 otherwise). Its expiry is
        not judged here: ``_principal`` does that on every request, after a revoked device has
        been told so."""
        return dict(self._verified(token))

    def _verify_signature(self, token: str) -> tuple[tuple[str, object], ...]:
        """``_verify`` without the memo: the form and signature of ``token`` checked."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise unauthorized("Malformed access token.")
        expected = hmac.new(self._token_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
        try:
            given = _unb64(parts[2])
            payload = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise unauthorized("Malformed access token.") from exc
        if not hmac.compare_digest(expected.digest(), given) or not isinstance(payload, dict):
            raise unauthorized("The access token's signature is not valid.")
        if not (
            isinstance(payload.get("d"), str)
            and isinstance(payload.get("u"), str)
            and isinstance(payload.get("exp"), int)
        ):
            raise unauthorized("Malformed access token.")
        return tuple(payload.items())

    def check_token(self, token: str) -> None:
        self._verify(token)

    def authenticate(
        self, token: str, session: Session | None = None, *, lock_device: bool = False
    ) -> Principal:
        """The caller of ``token``. With ``session`` the check runs in that session's
        transaction (one query), which the request then goes on using. With ``lock_device``
        that query also locks the device's row (``FOR UPDATE``) and keeps it in
        ``session.info[LOCKED_DEVICE]``: a push goes on under that lock without asking again."""
        payload = self._verify(token)
        if not is_id(payload["d"]):
            raise unauthorized("Unknown device.")
        if session is not None:
            return self._principal(session, payload, lock_device)
        with self._factory() as own, own.begin():
            return self._principal(own, payload)

    def expected_caller(self, token: str) -> Principal | None:
        try:
            payload = self._verify(token)
        except ApiError:
            return None
        return self._expected.get(str(payload["d"]))

    def caller_of(self, token: str, row: DeviceRow | None) -> Principal:
        payload = self._verify(token)
        if not is_id(payload["d"]) or (row is not None and row.id != payload["d"]):
            raise unauthorized("Unknown device.")
        return self._checked(payload, row)

    def _principal(
        self, session: Session, payload: dict[str, object], lock_device: bool = False
    ) -> Principal:
        row: Any
        if lock_device:
            row = lock_device_row(session, str(payload["d"]))
            if row is not None:
                session.info[LOCKED_DEVICE] = row
        else:
            found = _DEVICE.rows(session, {"device_id": payload["d"]})
            row = found[0] if found else None
        return self._checked(payload, row)

    def _checked(self, payload: dict[str, object], row: Any) -> Principal:
        """The caller of a verified token's claims, from its device's row: refused if the
        device is unknown or another user's, revoked, the token expired or the user
        deactivated."""
        if row is None or row.user_id != payload["u"]:
            raise unauthorized("Unknown device.")
        # A revoked device hears so even with an expired token: it must wipe.
        if row.revoked_at is not None:
            raise device_revoked()
        if int(payload["exp"]) <= int(utcnow().timestamp()):  # type: ignore[call-overload]
            raise ApiError(
                401, ErrorCode.TOKEN_EXPIRED, "The access token has expired; ask for a new one."
            )
        if row.username is None or not row.active:
            raise unauthorized("The user of this device is deactivated.")
        principal = Principal(
            user_id=row.user_id,
            username=row.username,
            display_name=row.display_name,
            role=Role(row.role),
            team_id=row.team_id,
            device_id=row.id,
        )
        if len(self._expected) >= EXPECTED_CALLERS:
            self._expected.clear()  # bounded; the next requests simply ask again
        self._expected[row.id] = principal
        return principal
