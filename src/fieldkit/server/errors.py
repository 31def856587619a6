"""Errors the API answers with: an HTTP status and a machine-readable ErrorResponse."""

from __future__ import annotations

from typing import Any

from fieldkit.protocol import ErrorBody, ErrorCode, ErrorResponse


class ApiError(Exception):
    def __init__(
        self, status: int, code: ErrorCode, message: str, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return ErrorResponse(
            error=ErrorBody(code=self.code, message=self.message, detail=self.detail)
        ).model_dump(mode="json")


def error_headers(error: ApiError) -> dict[str, str]:
    """The headers an error answer carries: Retry-After on a 429 that says when, and the
    WWW-Authenticate challenge on a 401."""
    headers = {}
    if error.status == 429 and error.detail and "retry_after" in error.detail:
        headers["Retry-After"] = str(error.detail["retry_after"])
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return headers


def unauthorized(message: str = "Missing or invalid credentials.") -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message)


def device_revoked() -> ApiError:
    return ApiError(
        403,
        ErrorCode.DEVICE_REVOKED,
        "This device has been revoked; wipe the local profile.",
        {"wipe": True},
    )
