"""`Authorization: Bearer <key>` for the API. The organization comes from the key, never from the request body.

The key is read through `accounts.api_key_cache` (cached a few seconds, dropped when revoked).
"""

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.api_key_cache import api_key_cache_refresh, api_key_cached
from accounts.models import APIKey, OrganizationStatus
from accounts.services import api_key_hash, api_key_touch


class APIKeyUser:
    """The request.user of a key-authenticated request: authenticated, but not a person and never staff."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: APIKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class APIKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        raw_key = parts[1]
        key_hash = api_key_hash(raw_key)
        api_key = api_key_cached(key_hash=key_hash)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.", code="invalid_api_key")
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key was revoked.", code="api_key_revoked")
        if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("This API key has expired.", code="api_key_expired")
        if api_key.organization.status == OrganizationStatus.CLOSED:
            raise exceptions.AuthenticationFailed("This organization is closed.", code="organization_closed")
        last_used_at = api_key.last_used_at
        api_key_touch(api_key=api_key)
        if api_key.last_used_at != last_used_at:  # written once a minute: the cached copy learns it too
            api_key_cache_refresh(api_key=api_key)
        return APIKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
