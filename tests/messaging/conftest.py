"""Messaging fixtures: the provider simulator (a real HTTP server in a thread) and a receipt sink.

`provider_simulator` yields the running `ProviderSimulator`: `.base_url`, `.configure(api=None, **settings)`,
`.reset()`, `.sent` (accepted messages, oldest first), `.messages(api)`, `.stats()`. One server per test
session (per xdist worker), reset before and after every test. Receipts arrive fast (50 ms) and a simulated
hang lasts 3 s, so tests that use `error_mode="timeout"` should give the adapter a sub-second timeout.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

import pytest

from messaging.models import Provider
from messaging.simulator.server import ProviderSimulator

TEST_SIMULATOR_SETTINGS = {"callback_delay_ms": 50, "hang_seconds": 3}


@pytest.fixture(scope="session")
def _provider_simulator_server():
    simulator = ProviderSimulator(
        "127.0.0.1", 0, iprog=TEST_SIMULATOR_SETTINGS, semaphore=TEST_SIMULATOR_SETTINGS, seed=20261125
    ).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def provider_simulator(_provider_simulator_server):
    _provider_simulator_server.reset()
    yield _provider_simulator_server
    _provider_simulator_server.reset()


class ReceiptSink:
    """Collects JSON bodies POSTed to `url`."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    sink.received.append({"path": self.path, "body": json.loads(raw), "headers": dict(self.headers)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/receipts"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} receipts within {timeout}s, got {len(self.received)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receipt_sink():
    sink = ReceiptSink()
    yield sink
    sink.close()


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def recorded(provider: str, name: str):
    """A recorded provider payload: `messaging/providers/<provider>/testdata/<name>`, parsed."""
    return json.loads((files(f"messaging.providers.{provider}") / "testdata" / name).read_text())


def closed_port_route(*, name: str, adapter: str, sender_name: str, priority: int) -> Provider:
    """A route at a closed port: pages and forms can route and price with it, nothing is sent."""
    credentials = {"iprog": {"api_token": "t"}, "semaphore": {"apikey": "k"}}[adapter]
    return Provider.objects.create(
        name=name,
        adapter=adapter,
        base_url="http://127.0.0.1:9",
        credentials=json.dumps(credentials),
        sender_name=sender_name,
        priority=priority,
    )


@pytest.fixture
def routes(db):
    """IPROG (reports receipts) and Semaphore (reports none), for pages and lists by route."""
    return (
        closed_port_route(name="IPROGSMS", adapter="iprog", sender_name="IPROGSMS", priority=10),
        closed_port_route(name="Semaphore", adapter="semaphore", sender_name="SEMAPHORE", priority=20),
    )


@pytest.fixture
def offline_chain(db):
    """The demo chain pointed at a closed port: pages and forms can route and price, nothing is sent."""
    return (
        closed_port_route(name="IPROGSMS", adapter="iprog", sender_name="IPROGSMS", priority=10),
        closed_port_route(name="iprogtech fallback", adapter="semaphore", sender_name="iprogtech", priority=20),
    )
