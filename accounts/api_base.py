"""The API's base views: the request log, the organization's endpoints and the signed-in person's endpoints.

Every organization-scoped endpoint subclasses `OrganizationAPIView`. The organization is resolved once, here, from
the API key (or from the session's active organization, with membership checked) and handed to the handler as
`self.organization`; handlers pass it to selectors, which filter by it in the query. Subclasses cannot override the
resolution: `__init_subclass__` refuses it, and anything that must step around it has to be named `dangerously_*`.
The error shape is `portal.api.exception_handler`; API keys authenticate in `accounts.authentication`.
"""

import logging
import time

from rest_framework import exceptions
from rest_framework.views import APIView

from accounts.active_organization import session_membership
from accounts.api_usage import api_request_record, route_of
from accounts.models import APIKey, Membership, Organization, OrganizationStatus
from accounts.roles import API_KEY_PERMISSIONS, require_api_key_scope
from accounts.services import client_ip
from portal import hooks, throttling
from portal.api import refuse_repeated_query_parameters
from portal.errors import NotFound, OrganizationSuspended

logger = logging.getLogger(__name__)

# The optional processing a person may object to (privacy answers through `portal.hooks.person_objects_to`):
# monitoring beyond what security needs.
EXTENDED_MONITORING = "extended_monitoring"


class LoggedAPIView(APIView):
    """Logs every request (monitoring), whatever the outcome: one APIRequestLog row, written in batches with
    other requests' rows (`accounts.api_usage`), never by an INSERT of its own."""

    organization: Organization | None = None
    api_key: APIKey | None = None

    def initialize_request(self, request, *args, **kwargs):
        self._started = time.monotonic()
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_repeated_query_parameters(request.query_params)

    def perform_authentication(self, request):
        """Failed authentication is limited per client address: past the limit, that address is answered 429
        before any key it sends is even looked at, so keys cannot be guessed at speed."""
        ident = f"failed-auth:{client_ip(request)}"
        limit = throttling.failed_authentication_limit()
        state = throttling.peek(ident, limit)
        if state.exceeded:
            request.rate_limit = state
            raise exceptions.Throttled(wait=throttling.retry_after(state))
        try:
            super().perform_authentication(request)
        except exceptions.AuthenticationFailed:
            request.rate_limit = throttling.count_request(ident, limit)
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        rate_limit = getattr(request, "rate_limit", None)
        if rate_limit is not None:
            for header, value in rate_limit.headers().items():
                response[header] = value
        try:
            user = getattr(request, "_user", None)
            person = user if user is not None and getattr(user, "pk", None) else None
            # Someone who objected to monitoring beyond security needs is logged without who and where: the
            # request itself (organization, key, path, status) is what security monitoring and disputes need.
            identify = person is None or not hooks.person_objects_to(user_id=person.pk, kind=EXTENDED_MONITORING)
            api_request_record(
                organization_id=self.organization.pk if self.organization is not None else None,
                api_key_id=self.api_key.pk if self.api_key is not None else None,
                user_id=person.pk if person is not None and identify else None,
                method=request.method,
                path=request.path,
                route=route_of(request),
                status_code=response.status_code,
                duration_ms=int((time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000),
                ip_address=client_ip(request) if identify else None,
                user_agent=request.META.get("HTTP_USER_AGENT", "") if identify else "",
            )
        except Exception:  # monitoring must never turn a good answer into an error
            logger.exception("could not write the API request log")
        return response


class OrganizationAPIView(LoggedAPIView):
    """Base for every organization-scoped endpoint.

    Declare `required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}`; a method that is
    not declared is refused (fail closed). Handlers read `self.organization`, `self.membership` (None for a key) and
    `self.api_key` (None for a session).
    """

    required_permissions: dict[str, str] = {}
    required_scopes: dict[str, str] = {}  # per method; unset -> the scope of the permission (accounts.roles)
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

    @property
    def acting_person(self):
        """Who the audit record names: the signed-in member, or None when an API key acts (the key is recorded)."""
        return self.request.user if self.membership is not None else None

    def check_permissions(self, request):
        super().check_permissions(request)
        self._bind_organization(request)

    def _bind_organization(self, request) -> None:
        if isinstance(request.auth, APIKey):
            self.api_key = request.auth
            self.organization = request.auth.organization
            granted = API_KEY_PERMISSIONS
        else:
            # A session: the organization chosen in the browser, never one picked for the person by the API.
            try:
                self.membership = (
                    session_membership(session=request.session, user=request.user)
                    if hasattr(request, "session")
                    else None
                )
            except NotFound:
                raise exceptions.PermissionDenied("You are not a member of this organization.", code="not_a_member")
            if self.membership is None:
                raise exceptions.PermissionDenied("Choose an organization first.", code="no_organization")
            self.organization = self.membership.organization
            granted = None
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = self.required_permissions.get(method)
        if needed is None:
            raise exceptions.MethodNotAllowed(request.method)
        allowed = needed in granted if granted is not None else self.membership.has_perm(needed)
        if not allowed:
            raise exceptions.PermissionDenied("Your role in this organization does not allow this.")
        if self.api_key is not None:
            require_api_key_scope(view=self, method=method, granted=self.api_key.scopes)
        if method not in ("GET",) and self.organization.status != OrganizationStatus.ACTIVE:
            reason = f": {self.organization.suspended_reason}" if self.organization.suspended_reason else ""
            raise OrganizationSuspended(f"Organization {self.organization.slug} is {self.organization.status}{reason}")


class UserAPIView(LoggedAPIView):
    """Base for endpoints about the signed-in person themself (privacy requests): sessions only, never API keys,
    because a key belongs to an organization, not to a person."""

    def check_permissions(self, request):
        super().check_permissions(request)
        if isinstance(request.auth, APIKey) or not getattr(request.user, "pk", None):
            raise exceptions.PermissionDenied("This endpoint needs a signed-in user, not an API key.")
