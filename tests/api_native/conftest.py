"""Fixtures for the native API tests: keys with chosen scopes, funded organizations, an offline provider chain."""

import json
from decimal import Decimal

import pytest

from accounts.services import api_key_create
from billing.services import credits_adjust
from messaging.models import Provider
from tests.conftest import bearer_client


@pytest.fixture(autouse=True)
def webhooks_may_reach_this_machine(settings):
    """The test receivers listen on 127.0.0.1, which production refuses as a webhook host."""
    settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def scoped_client():
    """scoped_client(organization, *scopes) -> an APIClient whose key has exactly those scopes."""

    def make(organization, *scopes):
        _, raw_key = api_key_create(
            organization=organization, actor=None, name=f"key {'+'.join(scopes)}", scopes=list(scopes)
        )
        return bearer_client(raw_key)

    return make


def fund(organization, amount: str = "100.00", reason: str = "test funds") -> None:
    credits_adjust(organization=organization, actor=None, amount=Decimal(amount), reason=reason)


@pytest.fixture
def offline_provider(db):
    """A route on a closed port: messages are routed and priced, and nothing is sent (no on-commit dispatch)."""
    return Provider.objects.create(
        name="IPROGSMS",
        adapter="iprog",
        base_url="http://127.0.0.1:9",
        credentials=json.dumps({"api_token": "t"}),
        sender_name="IPROGSMS",
        priority=10,
    )
