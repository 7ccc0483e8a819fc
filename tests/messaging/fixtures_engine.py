"""Fixtures for the engine tests: a funded organization, the demo-like provider chain on the simulator, fast
retries, a webhook receiver that can be told to fail, and a polling-only adapter."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from billing.models import LedgerEntry, LedgerEntryKind
from billing.services import credits_adjust
from messaging.models import Provider
from messaging.providers.base import SendResult
from messaging.providers.iprog.adapter import IprogAdapter
from messaging.providers.semaphore.adapter import SemaphoreAdapter

POLLING_ONLY_PATH = "tests.messaging.fixtures_engine.PollingOnlyIprogAdapter"
LOOKUP_PATHS = [
    "tests.messaging.fixtures_engine.LookupIprogAdapter",
    "tests.messaging.fixtures_engine.NoLookupIprogAdapter",
    "tests.messaging.fixtures_engine.NoLookupSemaphoreAdapter",
]


class PollingOnlyIprogAdapter(IprogAdapter):
    """IPROG without callbacks, to exercise the status poller."""

    code = "iprog_polling"
    label = "IPROG (polling only)"
    supports_delivery_callbacks = False


class LookupIprogAdapter(IprogAdapter):
    """Test double: IPROG as if it could list what it accepted (the real API cannot). It reads the simulator's
    control list and matches number and text, like the real Semaphore adapter does with Semaphore's list."""

    code = "iprog_lookup"
    supports_sent_lookup = True

    def find_sent(self, *, recipient, body, since, memo=None):
        response = self.session.get(f"{self.base_url}/_sim/messages", params={"api": "iprog", "limit": 1000}, timeout=5)
        return [
            SendResult(provider_message_id=str(m["message_id"]), recipient=recipient, reference="")
            for m in response.json()["messages"]
            if m["recipient"] == recipient and m["message"] == body
        ]


class NoLookupIprogAdapter(IprogAdapter):
    """A provider that certainly cannot be asked about a hand-over (whatever the real adapter learns)."""

    code = "iprog_nolookup"
    supports_sent_lookup = False


class NoLookupSemaphoreAdapter(SemaphoreAdapter):
    code = "semaphore_nolookup"
    supports_sent_lookup = False


@pytest.fixture
def fast_retries(settings):
    """No backoff waits, a small circuit threshold, webhooks to 127.0.0.1 allowed."""
    settings.SMS_RETRY_BASE_SECONDS = 0
    settings.SMS_RETRY_MAX_SECONDS = 0
    settings.SMS_CIRCUIT_FAILURE_THRESHOLD = 3
    settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    settings.SMS_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.SMS_PROVIDER_ADAPTERS = [
        "messaging.providers.iprog.adapter.IprogAdapter",
        "messaging.providers.semaphore.adapter.SemaphoreAdapter",
        POLLING_ONLY_PATH,
        *LOOKUP_PATHS,
    ]
    return settings


@pytest.fixture
def funded_org_a(org_a):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10000.00"), reason="test funds")
    return org_a


@pytest.fixture
def funded_org_b(org_b):
    credits_adjust(organization=org_b, actor=None, amount=Decimal("10000.00"), reason="test funds")
    return org_b


def make_chain(simulator, *, primary_quota=None, primary_timeout=5.0, lookup: bool | None = None):
    """lookup: True = both can list what they accepted (an IPROG double, the real Semaphore adapter), False =
    neither can, None = the real adapters as they are (Semaphore can, IPROG cannot)."""
    suffix = {True: "_lookup", False: "_nolookup", None: ""}[lookup]
    primary = Provider.objects.create(
        name="IPROGSMS",
        adapter="iprog" + suffix,
        base_url=simulator.base_url,
        credentials=json.dumps({"api_token": "test-token"}),
        sender_name="IPROGSMS",
        monthly_quota=primary_quota,
        priority=10,
        timeout_seconds=primary_timeout,
    )
    fallback = Provider.objects.create(
        name="iprogtech fallback",
        adapter="semaphore" + ("_nolookup" if lookup is False else ""),
        base_url=simulator.base_url,
        credentials=json.dumps({"apikey": "test-key"}),
        sender_name="iprogtech",
        priority=20,
    )
    return primary, fallback


@pytest.fixture
def chain(db, provider_simulator, fast_retries):
    return make_chain(provider_simulator)


def charges(organization) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.unscoped().filter(organization=organization, kind=LedgerEntryKind.CHARGE))


def refunds(organization) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.unscoped().filter(organization=organization, kind=LedgerEntryKind.REFUND))


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"0917{start + i:07d}" for i in range(count)]


def callback_path(provider: Provider) -> str:
    return reverse(
        "api_delivery_callback",
        kwargs={"adapter": provider.adapter, "provider_id": provider.pk, "secret": provider.callback_secret},
    )


class WebhookReceiver:
    """A customer's webhook endpoint: records requests; answers `fail_next` requests with HTTP 500 first."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append({"raw": raw, "headers": dict(self.headers)})
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @staticmethod
    def signature_valid(request: dict, secret: str) -> bool:
        timestamp = request["headers"]["X-Portal-Timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["raw"], hashlib.sha256).hexdigest()
        return hmac.compare_digest(request["headers"]["X-Portal-Signature"], f"sha256={expected}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


__all__ = ["chain", "fast_retries", "funded_org_a", "funded_org_b", "webhook_receiver"]
