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


def unauthorized(message: str = "Missing or invalid credentials.") -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message)


def device_revoked() -> ApiError:
    return ApiError(
        403,
        ErrorCode.DEVICE_REVOKED,
        "This device has been revoked; wipe the local profile.",
        {"wipe": True},
    )
