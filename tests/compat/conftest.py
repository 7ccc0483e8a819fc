"""Compat fixtures: the engine's funded organizations and provider chain (on the simulator), and clients that
speak IPROG's and Semaphore's parameters with no Authorization header."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.compat.http_clients import ProviderClient
from tests.messaging.conftest import _provider_simulator_server, provider_simulator  # noqa: F401 (fixtures)
from tests.messaging.fixtures_engine import chain, fast_retries, funded_org_a, funded_org_b  # noqa: F401 (fixtures)


@pytest.fixture
def key_a(api_key_a) -> str:
    return api_key_a[1]


@pytest.fixture
def key_b(api_key_b) -> str:
    return api_key_b[1]


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def http(live_server) -> ProviderClient:
    """`requests` against a live server, as IPROG's and Semaphore's own clients call them."""
    cache.clear()  # rate-limit counters of earlier tests
    client = ProviderClient(live_server.url)
    yield client
    client.close()
    cache.clear()
