import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    """Rate limit counters live in the cache: each test starts with full budgets."""
    cache.clear()
    yield
    cache.clear()
