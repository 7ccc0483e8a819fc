"""The API's base view, error shape and rate limit.

Every organization-scoped endpoint subclasses `OrganizationAPIView`. The organization is resolved once, here, from
the API key (or from the session's active organization, with membership checked) and handed to the handler as
`self.organization`; handlers pass it to selectors, which filter by it in the query. Subclasses cannot override the
resolution: `__init_subclass__` refuses it, and anything that must step around it has to be named `dangerously_*`.
"""

import logging
import time

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import APIKey, APIRequestLog, Membership, Organization, OrganizationStatus
from accounts.roles import API_KEY_PERMISSIONS, Permission
from accounts.selectors import membership_get
from accounts.services import client_ip
from portal.errors import ApplicationError, NotFound, OrganizationSuspended
from privacy.data_models import ProcessingKind
from privacy.objections import user_allows

logger = logging.getLogger(__name__)

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization_id"

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


class _LoggedAPIView(APIView):
    """Writes one APIRequestLog row per request (monitoring), whatever the outcome."""

    organization: Organization | None = None
    api_key: APIKey | None = None

    def initialize_request(self, request, *args, **kwargs):
        self._started = time.monotonic()
        return super().initialize_request(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        try:
            user = getattr(request, "_user", None)
            person = user if user is not None and getattr(user, "pk", None) else None
            # Someone who objected to monitoring beyond security needs is logged without who and where: the
            # request itself (organization, key, path, status) is what security monitoring and disputes need.
            identify = person is None or user_allows(user=person, processing=ProcessingKind.EXTENDED_MONITORING)
            APIRequestLog.objects.create(
                organization=self.organization,
                api_key=self.api_key,
                user=person if identify else None,
                method=request.method[:8],
                path=request.path[:255],
                status_code=response.status_code,
                duration_ms=int((time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000),
                ip_address=client_ip(request) if identify else None,
            )
        except Exception:  # monitoring must never turn a good answer into an error
            logger.exception("could not write the API request log")
        return response


class OrganizationAPIView(_LoggedAPIView):
    """Base for every organization-scoped endpoint.

    Declare `required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}`; a method that is
    not declared is refused (fail closed). Handlers read `self.organization`, `self.membership` (None for a key) and
    `self.api_key` (None for a session).
    """

    required_permissions: dict[str, str] = {}
    membership: Membership | None = None

    _sealed = ("initial", "check_permissions", "get_queryset", "get_object", "_bind_organization")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls._sealed:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not override {name}(): the organization is resolved by OrganizationAPIView. "
                    "Take `self.organization` and pass it to a selector."
                )

    def check_permissions(self, request):
        super().check_permissions(request)
        self._bind_organization(request)

    def _bind_organization(self, request) -> None:
        if isinstance(request.auth, APIKey):
            self.api_key = request.auth
            self.organization = request.auth.organization
            granted = API_KEY_PERMISSIONS
        else:
            organization_id = (
                request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY) if hasattr(request, "session") else None
            )
            if not organization_id:
                raise exceptions.PermissionDenied("Choose an organization first.", code="no_organization")
            try:
                self.membership = membership_get(user=request.user, organization_id=organization_id)
            except NotFound:
                raise exceptions.PermissionDenied("You are not a member of this organization.", code="not_a_member")
            self.organization = self.membership.organization
            granted = None
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = self.required_permissions.get(method)
        if needed is None:
            raise exceptions.MethodNotAllowed(request.method)
        allowed = needed in granted if granted is not None else self.membership.has_perm(needed)
        if not allowed:
            raise exceptions.PermissionDenied("Your role in this organization does not allow this.")
        if method not in ("GET",) and self.organization.status != OrganizationStatus.ACTIVE:
            reason = f": {self.organization.suspended_reason}" if self.organization.suspended_reason else ""
            raise OrganizationSuspended(f"Organization {self.organization.slug} is {self.organization.status}{reason}")


class UserAPIView(_LoggedAPIView):
    """Base for endpoints about the signed-in person themself (privacy requests): sessions only, never API keys,
    because a key belongs to an organization, not to a person."""

    def check_permissions(self, request):
        super().check_permissions(request)
        if isinstance(request.auth, APIKey) or not getattr(request.user, "pk", None):
            raise exceptions.PermissionDenied("This endpoint needs a signed-in user, not an API key.")


__all__ = [
    "ACTIVE_ORGANIZATION_SESSION_KEY",
    "OrganizationAPIView",
    "UserAPIView",
    "Permission",
    "error_response",
    "exception_handler",
    "status",
]
