import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters(monkeypatch):
    """Rate limit counters live in the cache: each test starts with full budgets, all in one minute (a slow run
    must not cross into the next window halfway)."""
    monkeypatch.setattr("portal.throttling._now", lambda: 1_800_000_010.0)
    cache.clear()
    yield
    cache.clear()
