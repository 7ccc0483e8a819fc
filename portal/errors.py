"""Domain errors raised by services and selectors.

Services raise these instead of returning error values; the API exception handler and the dashboard views turn
them into the one error shape clients see: `{"error": {"code": ..., "message": ..., "details": ...}}`.
"""

from typing import Any


class ApplicationError(Exception):
    code = "invalid"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}


class NotFound(ApplicationError):
    """Missing, or belonging to another organization: the two must be indistinguishable."""

    code = "not_found"
    status = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403


class OrganizationSuspended(ApplicationError):
    code = "organization_suspended"
    status = 403


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
