"""API keys cached by their hash, so a busy key is not looked up on every request.

An entry lives `API_KEY_CACHE_SECONDS`. Revoking a key drops its entry at once in this process and in a shared
cache (Redis); with a per-process cache (locmem) other processes may still accept a revoked key, or see its
organization's old status, for at most that many seconds.
"""

from django.core.cache import cache

from accounts.models import APIKey

API_KEY_CACHE_SECONDS = 5


def _cache_key(key_hash: str) -> str:
    return f"accounts:api-key:{key_hash}"


def api_key_cached(*, key_hash: str) -> APIKey | None:
    """The key with its organization, from the cache or the database."""
    cache_key = _cache_key(key_hash)
    api_key = cache.get(cache_key)
    if api_key is None:
        api_key = APIKey.objects.unscoped().select_related("organization").filter(key_hash=key_hash).first()
        if api_key is not None:
            cache.set(cache_key, api_key, API_KEY_CACHE_SECONDS)
    return api_key


def api_key_cache_refresh(*, api_key: APIKey) -> None:
    cache.set(_cache_key(api_key.key_hash), api_key, API_KEY_CACHE_SECONDS)


def api_key_forget(*, key_hash: str) -> None:
    cache.delete(_cache_key(key_hash))
