"""GitHub-shaped API errors: `{"message", "documentation_url"}` bodies with GitHub's statuses."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

DOCS_URL = "https://docs.github.com/rest"


class ApiError(Exception):
    """An error answer; raised anywhere below a route, rendered by the endpoint wrapper."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        documentation_url: str = DOCS_URL,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        """Return the JSON body GitHub would send."""
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body["status"] = str(self.status)
        return body

    def response(self) -> JSONResponse:
        """Return the error as an HTTP response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found() -> ApiError:
    """Return GitHub's plain 404."""
    return ApiError(404, "Not Found")


def bad_credentials() -> ApiError:
    """Return GitHub's 401 for an unknown or expired token."""
    return ApiError(401, "Bad credentials")


def requires_authentication() -> ApiError:
    """Return GitHub's 401 for a request without credentials."""
    return ApiError(401, "Requires authentication")


def not_accessible() -> ApiError:
    """Return GitHub's 403 for a token that lacks the permission a route needs."""
    return ApiError(403, "Resource not accessible by integration")


def validation_failed(
    resource: str, field: str, code: str = "invalid", message: str | None = None
) -> ApiError:
    """Return GitHub's 422 for one invalid field."""
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])
