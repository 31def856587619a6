"""What can go wrong talking to the central service, as typed user errors.

Each error says whether trying again later can help (``retryable``): the scheduler backs off and
retries those, and stops on the others until the user acts (a wrong URL, a revoked device, an
enrolment refused). Messages never carry case content, only what happened and what to do.
"""

from __future__ import annotations

from typing import Any

from fieldkit.errors import ExitCode, FieldkitError


class SyncError(FieldkitError):
    """Base of every sync failure."""

    exit_code = ExitCode.NETWORK
    code = "sync_error"
    retryable: bool = False


class InsecureServerUrl(SyncError):
    """The server address is not https (and http on loopback is not allowed here)."""

    exit_code = ExitCode.USAGE
    code = "insecure_server_url"


class InvalidServerUrl(SyncError):
    exit_code = ExitCode.USAGE
    code = "invalid_server_url"


class NotAFieldkitServer(SyncError):
    """Something answered, but not a fieldkit server (a captive portal, a web page, a proxy).
    Retryable for the scheduler: a Wi-Fi login page goes away once the user has logged in."""

    code = "not_a_fieldkit_server"
    retryable = True


class ServerUnreachable(SyncError):
    """No answer: offline, DNS, refused, timed out, connection cut. Try again later."""

    code = "server_unreachable"
    retryable = True


class ServerTrouble(SyncError):
    """The server answered 5xx, 429 or something unreadable. Try again later."""

    code = "server_trouble"
    retryable = True

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class WrongServer(SyncError):
    """A fieldkit server answered, but not the one this laptop was enrolled with."""

    code = "wrong_server"


class NotEnrolled(SyncError):
    exit_code = ExitCode.USAGE
    code = "not_enrolled"


class EnrollmentRefused(SyncError):
    """The enrolment code was refused (unknown, used, expired)."""

    exit_code = ExitCode.AUTH
    code = "enrollment_refused"


class AuthenticationFailed(SyncError):
    """The device credential was refused (and the device is not revoked)."""

    exit_code = ExitCode.AUTH
    code = "authentication_failed"


class TokenExpired(SyncError):
    """The access token ran out; the transport renews it and retries (never shown to users)."""

    code = "token_expired"
    retryable = True


class DeviceRevoked(SyncError):
    """The organisation revoked this laptop. The local profile must be wiped."""

    exit_code = ExitCode.NETWORK
    code = "device_revoked"


class ResyncRequired(SyncError):
    """The server cannot continue from our cursor: pull everything again from scratch."""

    code = "resync_required"
    retryable = True


class MutationGap(SyncError):
    """The server expected a lower mutation id than we sent: resend from ``last + 1``."""

    code = "mutation_gap"
    retryable = True

    def __init__(self, *args: Any, last_mutation_id: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, last_mutation_id=last_mutation_id, **kwargs)
        self.last_mutation_id = last_mutation_id


class MutationGapUnrecoverable(SyncError):
    """The server is missing changes this laptop no longer holds (e.g. a server restored
    from an older backup). Nothing local is lost; IT has to look at it."""

    exit_code = ExitCode.INTEGRITY
    code = "mutation_gap_unrecoverable"


class PayloadTooLarge(SyncError):
    """The server refused a push as too large: the engine sends smaller batches."""

    code = "payload_too_large"


class ProtocolRefused(SyncError):
    """The server refused a request as malformed or unsupported (a bug or a version skew)."""

    code = "protocol_refused"


__all__ = [
    "AuthenticationFailed",
    "DeviceRevoked",
    "EnrollmentRefused",
    "InsecureServerUrl",
    "InvalidServerUrl",
    "MutationGap",
    "MutationGapUnrecoverable",
    "NotAFieldkitServer",
    "NotEnrolled",
    "PayloadTooLarge",
    "ProtocolRefused",
    "ResyncRequired",
    "ServerTrouble",
    "ServerUnreachable",
    "SyncError",
    "TokenExpired",
    "WrongServer",
]
