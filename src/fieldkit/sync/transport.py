"""HTTP to the central service: the only module of the laptop that opens a network connection.

One ``Transport`` per server. It validates the base URL (https, or http on loopback when policy
or an explicit development flag allows it), recognises a fieldkit server by ``/v1/health``,
exchanges an enrolment code, keeps a short-lived access token obtained with the device
credential (renewed transparently when it runs out mid-cycle), and maps every failure to a
typed error from ``fieldkit.sync.errors`` (retryable or not). It never logs bodies: requests and
answers carry case content.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from fieldkit.errors import N_
from fieldkit.protocol.messages import (
    DEFAULT_PULL_LIMIT,
    EnrollRequest,
    EnrollResponse,
    ErrorCode,
    ErrorResponse,
    IntegrityResponse,
    PullResponse,
    PushRequest,
    PushResponse,
    TokenRequest,
    TokenResponse,
    UserInfo,
)
from fieldkit.sync.errors import (
    AuthenticationFailed,
    DeviceRevoked,
    EnrollmentRefused,
    InsecureServerUrl,
    InvalidServerUrl,
    MutationGap,
    NotAFieldkitServer,
    PayloadTooLarge,
    ProtocolRefused,
    ResyncRequired,
    ServerTrouble,
    ServerUnreachable,
    SyncError,
    TokenExpired,
    WrongServer,
)

log = logging.getLogger("fieldkit.sync.transport")

M = TypeVar("M", bound=BaseModel)

SERVICE_NAME = "fieldkit-server"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
TOKEN_MARGIN_SECONDS = 30.0  # renew a little before the server says the token runs out


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_server_url(url: str, *, allow_http_loopback: bool = False) -> str:
    """The normalised base URL (no trailing slash), or a clear error.

    https is required. Plain http is accepted only for a loopback host and only when
    ``allow_http_loopback`` (policy ``allow_http_loopback`` or an explicit development flag).
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidServerUrl(
            N_("The server address {url} is not a valid web address."),
            N_("Use the address IT gave you, e.g. https://fieldkit.example.se."),
            url=text,
        ) from None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("https", "http") or not host:
        raise InvalidServerUrl(
            N_("The server address {url} is not a valid web address."),
            N_("Use the address IT gave you, e.g. https://fieldkit.example.se."),
            url=text,
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidServerUrl(
            N_("The server address {url} must not contain a user name, query or fragment."),
            N_("Use the address IT gave you, e.g. https://fieldkit.example.se."),
            url=text,
        )
    if scheme == "http":
        if not is_loopback_host(host):
            raise InsecureServerUrl(
                N_("The server address {url} is not encrypted (http)."),
                N_("Use an https:// address; case data is never sent unencrypted."),
                url=text,
            )
        if not allow_http_loopback:
            raise InsecureServerUrl(
                N_("The server address {url} is not encrypted (http)."),
                N_(
                    "Use an https:// address, or allow http on this computer only for "
                    "development (--allow-http-loopback)."
                ),
                url=text,
            )
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


@dataclass(frozen=True)
class DeviceCredential:
    """The device's long-lived credential from enrolment. Kept only inside the vault."""

    device_id: str
    device_secret: str

    def to_meta(self) -> dict[str, str]:
        return {"device_id": self.device_id, "device_secret": self.device_secret}

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> DeviceCredential:
        return cls(device_id=str(data["device_id"]), device_secret=str(data["device_secret"]))

    def __repr__(self) -> str:  # never print the secret
        return f"DeviceCredential(device_id={self.device_id!r}, device_secret=***)"


class Transport:
    """A client of one fieldkit server. Safe to share between threads (calls are serialised)."""

    def __init__(
        self,
        base_url: str,
        *,
        credential: DeviceCredential | None = None,
        allow_http_loopback: bool = False,
        expected_server_id: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: Any = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = validate_server_url(base_url, allow_http_loopback=allow_http_loopback)
        self.credential = credential
        self.expected_server_id = expected_server_id
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            verify=verify,
            follow_redirects=False,  # a redirect is a captive portal or a wrong address
            transport=transport,
            headers={"User-Agent": "fieldkit-laptop", "Accept": "application/json"},
        )
        self._lock = threading.RLock()
        self._token: str | None = None
        self._token_deadline = 0.0
        self.user: UserInfo | None = None
        self.token_renewals = 0  # how many tokens were obtained (tests and diagnostics)

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- endpoints
    def health(self) -> dict[str, Any]:
        """Check that a fieldkit server answers at the base URL (and the right one)."""
        try:
            response = self._client.get("/v1/health")
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        data = self._json_or_none(response)
        if (
            response.status_code != 200
            or not isinstance(data, dict)
            or data.get("service") != SERVICE_NAME
        ):
            if response.status_code >= 500 or response.status_code == 429:
                # A proxy in front of a fieldkit server that is down: try again later.
                raise ServerTrouble(
                    N_("The server at {url} has a problem right now (HTTP {status})."),
                    N_("Sync will try again later; nothing is lost."),
                    url=self.base_url,
                    status=response.status_code,
                    retry_after=_retry_after(response),
                )
            raise self._not_fieldkit(response)
        server_id = data.get("server_id")
        if self.expected_server_id and server_id and server_id != self.expected_server_id:
            raise WrongServer(
                N_(
                    "The server at {url} is a different fieldkit server than this laptop "
                    "was enrolled with."
                ),
                N_("Check the server address with IT; nothing was sent."),
                url=self.base_url,
            )
        return data

    def enroll(self, code: str, *, device_name: str = "", platform: str = "") -> EnrollResponse:
        request = EnrollRequest(code=code, device_name=device_name[:200], platform=platform[:100])
        return self._call("POST", "/v1/enroll", EnrollResponse, body=request, auth=False)

    def push(self, request: PushRequest) -> PushResponse:
        return self._call("POST", "/v1/sync/push", PushResponse, body=request)

    def pull(self, cursor: str, limit: int = DEFAULT_PULL_LIMIT) -> PullResponse:
        return self._call(
            "GET", "/v1/sync/pull", PullResponse, params={"cursor": cursor, "limit": limit}
        )

    def integrity(self) -> IntegrityResponse:
        return self._call("GET", "/v1/sync/integrity", IntegrityResponse)

    # ---------------------------------------------------------------- tokens
    def access_token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._token_deadline:
                return self._token
            return self._renew_token()

    def forget_token(self) -> None:
        with self._lock:
            self._token = None
            self._token_deadline = 0.0

    def _renew_token(self) -> str:
        if self.credential is None:
            raise AuthenticationFailed(
                N_("This laptop has no device credential for {url}."),
                N_("Enrol it with `fieldkit enroll`."),
                url=self.base_url,
            )
        request = TokenRequest(
            device_id=self.credential.device_id, device_secret=self.credential.device_secret
        )
        answer = self._call("POST", "/v1/auth/token", TokenResponse, body=request, auth=False)
        self._token = answer.access_token
        lifetime = max(1.0, float(answer.expires_in) - TOKEN_MARGIN_SECONDS)
        if answer.expires_in <= TOKEN_MARGIN_SECONDS:
            lifetime = max(0.5, answer.expires_in / 2)
        self._token_deadline = time.monotonic() + lifetime
        self.user = answer.user
        self.token_renewals += 1
        log.debug("access token obtained (expires in %ss)", answer.expires_in)
        return self._token

    # ---------------------------------------------------------------- plumbing
    def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        body: BaseModel | None = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> M:
        with self._lock:
            content = body.model_dump_json().encode("utf-8") if body is not None else None
            for attempt in (1, 2):
                headers = {"Content-Type": "application/json"} if content is not None else {}
                if auth:
                    headers["Authorization"] = f"Bearer {self.access_token()}"
                try:
                    response = self._client.request(
                        method, path, content=content, params=params, headers=headers
                    )
                except httpx.HTTPError as exc:
                    raise self._unreachable(exc) from None
                try:
                    return self._parse(response, model, path)
                except TokenExpired:
                    if not auth or attempt == 2:
                        raise
                    log.info("access token expired mid-cycle; renewing")
                    self.forget_token()
            raise AssertionError("unreachable")  # pragma: no cover

    def _parse(self, response: httpx.Response, model: type[M], path: str) -> M:
        status = response.status_code
        if 200 <= status < 300:
            if "json" in response.headers.get("content-type", ""):
                # The fast path: pydantic parses and validates the bytes in one pass (a pull
                # page holds hundreds of records; no dict tree is built twice). Anything it
                # refuses takes the path below, which tells garbage from a wrong shape.
                try:
                    return model.model_validate_json(response.content)
                except ValidationError:
                    pass
            data = self._json_or_none(response)
            if data is None:
                raise self._not_fieldkit(response)
            try:
                return model.model_validate(data)
            except ValidationError:
                log.warning("unreadable answer from %s (HTTP %s)", path, status)
                raise ServerTrouble(
                    N_("The server at {url} gave an answer this version cannot read."),
                    N_("Sync will try again later; nothing is lost. If it persists, tell IT."),
                    url=self.base_url,
                ) from None
        raise self._error_for(response, path)

    def _error_for(self, response: httpx.Response, path: str) -> SyncError:
        status = response.status_code
        data = self._json_or_none(response)
        error: ErrorResponse | None = None
        if isinstance(data, dict) and "error" in data:
            try:
                error = ErrorResponse.model_validate(data)
            except ValidationError:
                error = None
        retry_after = _retry_after(response)
        if error is None:
            if status >= 500 or status == 429:
                return ServerTrouble(
                    N_("The server at {url} has a problem right now (HTTP {status})."),
                    N_("Sync will try again later; nothing is lost."),
                    url=self.base_url,
                    status=status,
                    retry_after=retry_after,
                )
            return self._not_fieldkit(response)
        code = error.error.code
        detail = error.error.detail or {}
        log.info("server refused %s: HTTP %s %s", path, status, code)
        if code is ErrorCode.DEVICE_REVOKED:
            return DeviceRevoked(
                N_(
                    "This laptop has been revoked by your organisation, so its local data "
                    "has been wiped."
                ),
                N_("Contact IT to enrol the laptop again."),
            )
        if code is ErrorCode.TOKEN_EXPIRED:
            return TokenExpired(N_("The access token has expired."))
        if code is ErrorCode.UNAUTHORIZED:
            if path == "/v1/enroll":
                return EnrollmentRefused(
                    N_("The enrolment code was not accepted (unknown, already used or expired)."),
                    N_("Ask your team lead or IT for a new code."),
                )
            return AuthenticationFailed(
                N_("The server did not accept this laptop's credential."),
                N_("Contact IT; the laptop may need to be enrolled again."),
            )
        if code is ErrorCode.RESYNC_REQUIRED:
            return ResyncRequired(N_("The server asked for a full re-synchronisation."))
        if code is ErrorCode.MUTATION_GAP:
            last = detail.get("last_mutation_id", 0)
            return MutationGap(
                N_("The server is missing changes before number {last_mutation_id}."),
                last_mutation_id=int(last) if isinstance(last, int | str) else 0,
            )
        if code is ErrorCode.PAYLOAD_TOO_LARGE:
            return PayloadTooLarge(
                N_("A change is too large for the server."),
                N_("Nothing was lost. Tell IT: the server's size limit may need raising."),
            )
        if code is ErrorCode.RATE_LIMITED or status >= 500 or code is ErrorCode.INTERNAL:
            return ServerTrouble(
                N_("The server at {url} has a problem right now (HTTP {status})."),
                N_("Sync will try again later; nothing is lost."),
                url=self.base_url,
                status=status,
                retry_after=retry_after,
            )
        if path == "/v1/enroll" and code in (
            ErrorCode.NOT_FOUND,
            ErrorCode.FORBIDDEN,
            ErrorCode.VALIDATION,
            ErrorCode.CONFLICT,
        ):
            return EnrollmentRefused(
                N_("The enrolment code was not accepted (unknown, already used or expired)."),
                N_("Ask your team lead or IT for a new code."),
            )
        if code is ErrorCode.FORBIDDEN:
            return AuthenticationFailed(
                N_("The server refused this laptop access ({reason})."),
                N_("Contact IT; the laptop may need to be enrolled again."),
                reason=code.value,
            )
        return ProtocolRefused(
            N_("The server refused the request ({reason}, HTTP {status})."),
            N_("Nothing was lost. Update fieldkit or tell IT if it persists."),
            reason=code.value,
            status=status,
        )

    def _not_fieldkit(self, response: httpx.Response) -> NotAFieldkitServer:
        kind = response.headers.get("content-type", "").split(";")[0].strip() or "unknown"
        log.warning("not a fieldkit answer: HTTP %s, %s", response.status_code, kind[:80])
        return NotAFieldkitServer(
            N_("The address {url} did not answer as a fieldkit server (HTTP {status}, {kind})."),
            N_(
                "Check the address; if you are on a public Wi-Fi, log in to it in a web "
                "browser first, then sync again."
            ),
            url=self.base_url,
            status=response.status_code,
            kind=kind,
        )

    def _unreachable(self, exc: httpx.HTTPError) -> ServerUnreachable:
        reason = type(exc).__name__
        log.info("server unreachable: %s", reason)
        return ServerUnreachable(
            N_("Could not reach the server at {url} ({reason})."),
            N_("Work goes on offline; sync will try again when the network is back."),
            url=self.base_url,
            reason=reason,
        )

    @staticmethod
    def _json_or_none(response: httpx.Response) -> Any:
        kind = response.headers.get("content-type", "")
        if "json" not in kind:
            return None
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
