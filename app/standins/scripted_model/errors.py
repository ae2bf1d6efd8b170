"""API errors in the Anthropic wire shape: `{"type": "error", "error": {...}, "request_id"}`."""

from __future__ import annotations

from typing import Any

# The error `type` the real API pairs with each status it answers with.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class ApiError(Exception):
    """An error answer: HTTP status, the API's error type, a message and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict[str, Any]:
        """Return the JSON body the real API sends for this error."""
        return {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
            "request_id": request_id,
        }


def invalid(message: str) -> ApiError:
    """Return a 400 invalid_request_error."""
    return ApiError(400, message)
