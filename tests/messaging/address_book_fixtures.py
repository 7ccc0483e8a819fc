"""Fixtures shared by the address book and campaign tests (their conftests import them): a route, credits,
no real dispatch."""

import json
from decimal import Decimal

import pytest

from billing.services import credits_adjust
from messaging.models import Provider


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


@pytest.fixture
def chain(db):
    return Provider.objects.create(
        name="IPROGSMS",
        adapter="iprog",
        base_url="http://127.0.0.1:9",
        credentials=json.dumps({"api_token": "t"}),
        sender_name="IPROGSMS",
        priority=10,
    )


@pytest.fixture
def no_dispatch(monkeypatch):
    """Sending hands messages to the worker; these tests stop at what was queued and charged."""

    class Stub:
        def enqueue(self, *args, **kwargs):
            return None

    monkeypatch.setattr("messaging.tasks.dispatch_queued", Stub())


@pytest.fixture
def funded(org_a, org_b, chain, no_dispatch):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100"), reason="test funds")
    credits_adjust(organization=org_b, actor=None, amount=Decimal("100"), reason="test funds")


CSV = (
    "Mobile,Full name,City,Notes\n"
    "0917 123 4567,Ana,Manila,first\n"
    "+639181234567,Ben,,second\n"
    "639171234567,Ana Cruz,Makati,again\n"
    "12345,Bad,Cebu,\n"
)
MAPPING = {"Mobile": "phone", "Full name": "name", "City": "field", "Notes": "skip"}


def contacts_csv() -> bytes:
    return CSV.encode()


def as_json(value):
    return json.loads(json.dumps(value))
