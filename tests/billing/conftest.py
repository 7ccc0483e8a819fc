"""Billing fixtures: the PayMongo simulator (a real HTTP server in a thread), credit packs, checkout helpers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from billing.models import CreditPack, PricePlan
from billing.payment_providers.paymongo.signature import HEADER, signature_header
from billing.payment_providers.paymongo.simulator import PayMongoSimulator

WEBHOOK_SECRET = "whsk_test_secret"
SECRET_KEY = "sk_test_portal"


@pytest.fixture(scope="session")
def _paymongo_simulator_server():
    simulator = PayMongoSimulator(
        "127.0.0.1", 0, secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET, webhook_mode="none"
    ).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def paymongo_simulator(_paymongo_simulator_server, settings):
    """The running simulator, reset, with the site's PayMongo settings pointing at it (webhooks: not sent)."""
    simulator = _paymongo_simulator_server
    simulator.reset()
    simulator.configure(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET, webhook_mode="none")
    settings.PAYMONGO_BASE_URL = simulator.base_url
    settings.PAYMONGO_SECRET_KEY = SECRET_KEY
    settings.PAYMONGO_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.BILLING_CHECKOUT_PROVIDER = "paymongo"
    yield simulator
    simulator.reset()


@pytest.fixture
def standard_plan(db) -> PricePlan:
    """The default plan at ₱0.50 per credit (the migration's Standard plan, or one made here)."""
    plan = PricePlan.objects.filter(is_default=True).first() or PricePlan.objects.create(name="Std", is_default=True)
    plan.credit_price_php = Decimal("0.5000")
    plan.save()
    return plan


@pytest.fixture
def pack(db, standard_plan) -> CreditPack:
    return CreditPack.objects.create(name="Starter", credits=Decimal("1000.00"), sort_order=1)


def pay_on_hosted_page(checkout_url: str, *, method: str = "gcash", action: str = "pay") -> requests.Response:
    """What the customer's browser does on the simulator's checkout page (no redirect followed)."""
    return requests.post(checkout_url, data={"action": action, "method": method}, allow_redirects=False, timeout=10)


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    return {HEADER: signature_header(secret=secret, body=body, livemode=False, timestamp=timestamp)}


def last_event(simulator: PayMongoSimulator, event_type: str) -> bytes:
    for body in reversed(simulator.events):
        if json.loads(body)["data"]["attributes"]["type"] == event_type:
            return body
    raise AssertionError(f"the simulator made no {event_type} event")
