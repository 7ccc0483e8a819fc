"""The API's error shape: every error answers `{"error": {"code", "message", "details"}}`.

`exception_handler` is DRF's EXCEPTION_HANDLER (settings); the base views live in `accounts.api_base` and the rate
limit in `portal.throttling`.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from portal.errors import ApplicationError

logger = logging.getLogger(__name__)

# What a client is told to wait before sending again while the database is away (a restart or failover takes
# seconds; persistent connections are checked before reuse, so the first request after it succeeds).
DATABASE_RETRY_AFTER_SECONDS = 5

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


def bounded_int_param(params, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A whole-number query parameter within [minimum, maximum]; anything else is a 400 naming the parameter."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    problem = f"must be a whole number from {minimum} to {maximum}."
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise ApplicationError(f"{name} {problem}", code="invalid_parameter", details={name: [problem]})
    return value


def refuse_repeated_query_parameters(params) -> None:
    """A query parameter given twice (`?status=sent&status=failed`) is ambiguous: refused with 400, never half-read."""
    repeated = sorted(name for name, values in params.lists() if len(values) > 1)
    if repeated:
        raise ApplicationError(
            f"Give each query parameter once: {', '.join(repeated)} appears more than once.",
            code="repeated_parameter",
            details={name: ["Given more than once."] for name in repeated},
        )


def exception_handler(exc, context):
    """Turn every error into `{"error": {"code", "message", "details"}}`."""
    if isinstance(exc, RecursionError):
        # json.loads gives up on a deeply nested document with RecursionError, not a ValueError DRF would catch.
        message = "The JSON body is nested too deeply."
        return error_response(code="parse_error", message=message, status_code=400, details={"body": [message]})
    if isinstance(exc, RequestDataTooBig):
        message = "The request body is too large."
        return error_response(code="request_too_large", message=message, status_code=400, details={"body": [message]})
    if isinstance(exc, ApplicationError):
        return error_response(code=exc.code, message=exc.message, status_code=exc.status, details=exc.details)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database does not answer (restart, failover): each write is one transaction, rolled back with the
        # connection, so the client may send the same request again (with its Idempotency-Key, if it used one).
        logger.warning("Answered 503: the database does not answer (%s)", str(exc).strip())
        return error_response(
            code="database_unavailable",
            message="The service is briefly unavailable. Try again in a few seconds.",
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        return error_response(code="not_found", message="Not found.", status_code=404)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(code="permission_denied", message=str(exc) or "Not allowed.", status_code=403)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait)))
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
        if isinstance(exc, exceptions.ValidationError):
            details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            message = _first_message(details) or "Invalid input."
            return error_response(code="invalid", message=message, status_code=400, details=details)
        if isinstance(exc, exceptions.ParseError):
            return error_response(
                code="parse_error", message=str(exc.detail), status_code=400, details={"body": [str(exc.detail)]}
            )
        detail_code = exc.get_codes() if isinstance(exc.get_codes(), str) else None
        if detail_code and detail_code not in (
            "throttled",
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


_PLAIN_ERRORS = {
    400: ("bad_request", "Bad request."),
    403: ("permission_denied", "Not allowed."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("request_too_large", "The request body is too large."),
}


class APIErrorShapeMiddleware:
    """Answers under /api/ are JSON, also the errors Django gives before a view runs (an address no route matches,
    a body over DATA_UPLOAD_MAX_MEMORY_SIZE read by a middleware): their HTML page becomes the error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in _PLAIN_ERRORS
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            code, message = _PLAIN_ERRORS[response.status_code]
            body = {"error": {"code": code, "message": message, "details": {}}}
            json_response = JsonResponse(body, status=response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response
