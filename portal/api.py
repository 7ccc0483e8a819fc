"""The API's error shape: every error answers `{"error": {"code", "message", "details"}}`.

`exception_handler` is DRF's EXCEPTION_HANDLER (settings); the base views live in `accounts.api_base` and the rate
limit in `portal.throttling`.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from portal.errors import ApplicationError

_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "invalid",
}


def error_response(*, code: str, message: str, status_code: int, details=None, headers=None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc, context):
    """Turn every error into `{"error": {"code", "message", "details"}}`."""
    if isinstance(exc, ApplicationError):
        return error_response(code=exc.code, message=exc.message, status_code=exc.status, details=exc.details)
    if isinstance(exc, Http404):
        return error_response(code="not_found", message="Not found.", status_code=404)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(code="permission_denied", message=str(exc) or "Not allowed.", status_code=403)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
        if isinstance(exc, exceptions.ValidationError):
            details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            message = _first_message(details) or "Invalid input."
            return error_response(code="invalid", message=message, status_code=400, details=details)
        detail_code = exc.get_codes() if isinstance(exc.get_codes(), str) else None
        if detail_code and detail_code not in (
            "not_authenticated",
            "authentication_failed",
            "permission_denied",
            "error",
        ):
            code = detail_code
        return error_response(code=code, message=str(exc.detail), status_code=exc.status_code, headers=headers)
    return None


def _first_message(details) -> str:
    for field, errors in details.items():
        if isinstance(errors, list) and errors:
            first = errors[0]
            if isinstance(first, dict):
                return f"{field}: {_first_message(first)}"
            return f"{field}: {first}" if field != "non_field_errors" else str(first)
        if isinstance(errors, dict):
            return f"{field}: {_first_message(errors)}"
        return f"{field}: {errors}"
    return ""
