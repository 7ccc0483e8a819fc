"""What the IPROG and Semaphore compatible endpoints share: reading parameters however clients send them, the API
key in a parameter, its scopes (as on the native API), the request log and the native API's rate limit, and
provider-shaped errors.

Clients in the wild send parameters in the query string of a POST with an empty body, as JSON, form-urlencoded or
multipart bodies, or a mix (the key in the query string beside a JSON body). All of them are merged into one flat
dict of strings; which side wins on a conflict is the provider's (Semaphore/Laravel: the body; IPROG/Rails: the
query string). Empty values count as absent.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny

from accounts.api_base import LoggedAPIView
from accounts.models import APIKey, OrganizationStatus
from accounts.services import api_key_hash, api_key_touch
from portal.errors import ApplicationError
from portal.throttling import OrganizationRateThrottle


class MissingKey(Exception):
    """No API key parameter was sent."""


class InvalidKey(Exception):
    """The API key parameter names no usable key (unknown, revoked, expired, or its organization is closed)."""


class MissingScope(Exception):
    """The key is good but lacks the scope this endpoint needs for the method (`accounts.roles.Scope`)."""

    def __init__(self, needed: str) -> None:
        super().__init__(needed)
        self.needed = needed
        self.message = (
            f"This API key does not have the `{needed}` scope this endpoint needs; "
            "create a key with that scope on the API keys page."
        )


def _as_text(value) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value if item is not None)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _flatten(source) -> dict[str, str]:
    if not hasattr(source, "keys"):
        return {}
    flat = {}
    for key in source:
        if hasattr(source, "getlist") and len(source.getlist(key)) > 1:
            value = _as_text(source.getlist(key))
        else:
            value = _as_text(source.get(key))
        if value is not None and value.strip() != "":
            flat[str(key)] = value
    return flat


def request_params(request, *, body_wins: bool) -> dict[str, str]:
    """Query string and body merged into one dict of strings; an unreadable body counts as empty."""
    query = _flatten(request.query_params)
    try:
        body = _flatten(request.data)
    except exceptions.ParseError:
        body = {}
    return {**query, **body} if body_wins else {**body, **query}


def split_numbers(raw: str | None) -> list[str]:
    """ "09171234567, +639181234567," -> ["09171234567", "+639181234567"]. A "+" sent unencoded in a query string
    arrives as a space, which the strip removes (the number normaliser accepts 639... too)."""
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def api_key_from_parameter(raw: str | None) -> APIKey:
    """The organization's API key named by a request parameter (the same keys as `Authorization: Bearer`)."""
    if not raw:
        raise MissingKey
    # Unscoped: the key is what tells us the organization.
    api_key = (
        APIKey.objects.unscoped().select_related("organization").filter(key_hash=api_key_hash(raw.strip())).first()
    )
    if (
        api_key is None
        or api_key.revoked_at is not None
        or (api_key.expires_at is not None and api_key.expires_at <= timezone.now())
        or api_key.organization.status == OrganizationStatus.CLOSED
    ):
        raise InvalidKey
    api_key_touch(api_key=api_key)
    return api_key


class CompatAPIView(LoggedAPIView):
    """Base of the compatible endpoints. Subclasses name the key parameter and render the provider's errors.

    The organization comes from the key parameter only; `self.params` holds the merged parameters. Requests are
    logged (APIRequestLog) and rate limited per organization exactly like the native API. Each view declares
    `required_scopes` per method, the scope the native endpoint doing the same needs; an undeclared method is
    refused (fail closed).
    """

    key_parameter = "api_token"
    required_scopes: dict[str, str] = {}
    body_wins = False
    authentication_classes: list = []
    # IPROG's and Semaphore's shapes are documented by those providers and in the README; the OpenAPI reference
    # describes the native API only.
    schema = None
    permission_classes = [AllowAny]
    throttle_classes = [OrganizationRateThrottle]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    params: dict[str, str]

    def initial(self, request, *args, **kwargs):
        self.params = request_params(request, body_wins=self.body_wins)
        self.api_key = api_key_from_parameter(self.params.get(self.key_parameter))
        self.organization = self.api_key.organization
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = self.required_scopes.get(method)
        if needed is None:
            raise exceptions.MethodNotAllowed(request.method)
        if needed not in self.api_key.scopes:
            raise MissingScope(needed)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, MissingKey | InvalidKey | MissingScope | ApplicationError | exceptions.Throttled):
            response = self.provider_error(exc)
            response.exception = True
            return response
        return super().handle_exception(exc)

    def provider_error(self, exc):  # pragma: no cover - every subclass answers in its provider's shape
        raise NotImplementedError

    def throttle_limit(self) -> int:
        throttles = self.get_throttles()
        return getattr(throttles[0], "num_requests", 0) if throttles else 0
