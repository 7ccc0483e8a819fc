"""The provider simulator itself: control endpoints, bounds, thread safety, the management command."""

import io
import threading

import pytest
import requests
from django.core.management import CommandError

from messaging.management.commands import run_provider_simulator
from messaging.simulator.server import ProviderSimulator
from tests.messaging.conftest import wait_until


def iprog_send(base_url, number="639171234567", token="t", **extra):
    payload = {"api_token": token, "phone_number": number, "message": "hi", **extra}
    return requests.post(f"{base_url}/api/v1/sms_messages", json=payload, timeout=5)


def semaphore_send(base_url, numbers="639171234567", key="k"):
    form = {"apikey": key, "number": numbers, "message": "hi"}
    return requests.post(f"{base_url}/api/v4/messages", data=form, timeout=5)


def test_health_and_unknown_routes(provider_simulator):
    base = provider_simulator.base_url
    assert requests.get(f"{base}/_sim/health", timeout=5).json()["ok"] is True
    assert requests.get(f"{base}/api/v9/nothing", timeout=5).status_code == 404
    assert requests.post(f"{base}/_sim/nothing", json={}, timeout=5).status_code == 404


def test_config_over_http_changes_behaviour(provider_simulator):
    base = provider_simulator.base_url
    answer = requests.post(f"{base}/_sim/config", json={"iprog": {"quota": 1}, "all": {"latency_ms": 5}}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["iprog"]["quota"] == 1
    assert answer.json()["semaphore"]["latency_ms"] == 5
    assert iprog_send(base).json()["status"] == 200
    limited = iprog_send(base)
    assert limited.status_code == 200  # IPROG's quirk: errors come with HTTP 200
    assert limited.json()["status"] == 500
    assert "monthly limit" in limited.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"iprog": {"no_such_setting": 1}},
        {"iprog": {"error_rate": 2}},
        {"semaphore": {"error_mode": "explode"}},
        {"iprog": {"callback_url": "ftp://example"}},
        {"iprog": {"quota": -1}},
        {"iprog": "quota=1"},
        {"bogus": {}},
    ],
)
def test_bad_config_is_refused_with_a_reason(provider_simulator, body):
    answer = requests.post(f"{provider_simulator.base_url}/_sim/config", json=body, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"]
    assert provider_simulator.settings()["iprog"]["quota"] is None


def test_malformed_json_is_a_400(provider_simulator):
    answer = requests.post(
        f"{provider_simulator.base_url}/_sim/config",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 400


def test_reset_over_http_forgets_messages_and_settings(provider_simulator):
    base = provider_simulator.base_url
    provider_simulator.configure("iprog", quota=3)
    iprog_send(base)
    assert len(provider_simulator.sent) == 1
    assert requests.post(f"{base}/_sim/reset", json={}, timeout=5).json()["ok"] is True
    assert provider_simulator.sent == []
    assert provider_simulator.settings()["iprog"]["quota"] is None
    assert provider_simulator.stats()["iprog"]["used_this_month"] == 0


def test_reset_can_keep_the_settings(provider_simulator):
    provider_simulator.configure("semaphore", quota=7)
    requests.post(f"{provider_simulator.base_url}/_sim/reset", json={"config": False}, timeout=5)
    assert provider_simulator.settings()["semaphore"]["quota"] == 7


def test_messages_endpoint_filters_and_limits(provider_simulator):
    base = provider_simulator.base_url
    iprog_send(base)
    semaphore_send(base, "639171234567,639181234567")
    everything = requests.get(f"{base}/_sim/messages", timeout=5).json()["messages"]
    assert [message["api"] for message in everything] == ["iprog", "semaphore", "semaphore"]
    only_semaphore = requests.get(f"{base}/_sim/messages", params={"api": "semaphore", "limit": 1}, timeout=5)
    assert [message["recipient"] for message in only_semaphore.json()["messages"]] == ["+639181234567"]
    assert requests.get(f"{base}/_sim/messages", params={"api": "nope"}, timeout=5).status_code == 400


def test_iprog_also_reads_query_string_parameters(provider_simulator):
    answer = requests.post(
        f"{provider_simulator.base_url}/api/v1/sms_messages",
        params={"api_token": "t", "phone_number": "09171234567", "message": "from the query"},
        timeout=5,
    )
    assert answer.json()["status"] == 200
    assert provider_simulator.sent[0]["message"] == "from the query"


@pytest.mark.parametrize("number", ["639171234567", "09171234567", "639951234567", "08951234567", "638131234567"])
def test_every_mobile_block_the_portal_accepts_is_sent(provider_simulator, number):
    # The 08 range's mobile blocks (DITO's 0895, Smart's 0813) too: a first run sends to them like the real networks.
    assert iprog_send(provider_simulator.base_url, number=number).json()["status"] == 200
    assert semaphore_send(provider_simulator.base_url, numbers=number).status_code == 200
    assert [sent["recipient"] for sent in provider_simulator.sent] == [f"+63{number[-10:]}"] * 2


@pytest.mark.parametrize("number", ["63821234567", "0821234567", "+639171234567", "0917123456", "63917123456a"])
def test_numbers_outside_the_mobile_blocks_are_refused(provider_simulator, number):
    # 082 is Davao's landline area code: the 08 range is mobile only in its listed blocks.
    assert iprog_send(provider_simulator.base_url, number=number).json()["status"] == 500
    assert (
        "number" in semaphore_send(provider_simulator.base_url, numbers=number).json()
    )  # Semaphore: 200, field errors
    assert provider_simulator.sent == []


def test_iprog_single_send_takes_one_number(provider_simulator):
    answer = iprog_send(provider_simulator.base_url, number="639171234567,639181234567")
    assert answer.json()["status"] == 500
    assert provider_simulator.sent == []


def test_stored_messages_are_bounded():
    with ProviderSimulator(max_messages=5) as simulator:
        for index in range(8):
            assert iprog_send(simulator.base_url, number=f"63917123456{index}").json()["status"] == 200
        sent = simulator.sent
        assert len(sent) == 5
        assert [message["recipient"] for message in sent] == [f"+63917123456{index}" for index in range(3, 8)]
        assert simulator.stats()["iprog"]["stored_messages"] == 5


def test_pending_receipts_are_bounded():
    with ProviderSimulator(max_pending_callbacks=2, iprog={"callback_delay_ms": 60_000}) as simulator:
        for index in range(5):
            iprog_send(simulator.base_url, number=f"63917123456{index}")
        stats = simulator.stats()["iprog"]
        assert stats["pending_callbacks"] == 2
        assert stats["callbacks_dropped"] == 3
        # A message whose receipt was dropped still reaches its final state.
        assert [message["status"] for message in simulator.sent].count("delivered") == 3


def test_concurrent_sends_are_counted_exactly(provider_simulator):
    provider_simulator.configure("iprog", quota=60)
    outcomes = []
    lock = threading.Lock()

    def worker(offset):
        session = requests.Session()
        for index in range(10):
            number = f"6391{offset:02d}{index:06d}"
            payload = {"api_token": "t", "phone_number": number, "message": "hi"}
            status = session.post(
                f"{provider_simulator.base_url}/api/v1/sms_messages", json=payload, timeout=10
            ).json()["status"]
            with lock:
                outcomes.append(status)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 100
    assert outcomes.count(200) == 60
    assert outcomes.count(500) == 40
    sent = provider_simulator.sent
    assert len(sent) == 60
    assert len({message["message_id"] for message in sent}) == 60
    assert provider_simulator.stats()["iprog"]["used_this_month"] == 60


def test_receipts_fail_gracefully_when_the_callback_is_down(provider_simulator):
    provider_simulator.configure("iprog", callback_url="http://127.0.0.1:9/nothing-listens")
    iprog_send(provider_simulator.base_url)
    wait_until(lambda: provider_simulator.stats()["iprog"].get("callbacks_failed") == 1)
    assert provider_simulator.sent[0]["status"] == "delivered"


def test_receipt_sink_gets_semaphore_shaped_receipts(provider_simulator, receipt_sink):
    provider_simulator.configure("semaphore", callback_url=receipt_sink.url)
    semaphore_send(provider_simulator.base_url)
    [receipt] = receipt_sink.wait_for(1)
    assert receipt["body"]["status"] == "Sent"
    assert receipt["body"]["recipient"] == "639171234567"
    assert isinstance(receipt["body"]["message_id"], int)
    assert receipt["path"] == "/receipts"


def test_stop_releases_a_hanging_request_quickly():
    simulator = ProviderSimulator(iprog={"error_mode": "timeout", "hang_seconds": 30}).start()
    errors = []

    def hang():
        try:
            iprog_send(simulator.base_url)
        except requests.RequestException as error:
            errors.append(error)

    thread = threading.Thread(target=hang)
    thread.start()
    wait_until(lambda: simulator.stats()["iprog"].get("forced_timeout") == 1)
    simulator.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


# --- management command ---


def test_command_refuses_non_loopback_hosts():
    command = run_provider_simulator.Command(stdout=io.StringIO())
    with pytest.raises(CommandError, match="loopback"):
        command.handle(
            host="0.0.0.0",
            port=0,
            iprog_quota=None,
            semaphore_quota=None,
            error_rate=0.0,
            latency_ms=0,
            callback_url="",
            seed=None,
        )


def test_command_starts_with_the_requested_settings(monkeypatch):
    started = {}

    def fake_serve_forever(self):
        self.start()
        started["settings"] = self.settings()
        started["health"] = requests.get(f"{self.base_url}/_sim/health", timeout=5).json()
        self.stop()

    monkeypatch.setattr(ProviderSimulator, "serve_forever", fake_serve_forever)
    out = io.StringIO()
    run_provider_simulator.Command(stdout=out).handle(
        host="127.0.0.1",
        port=0,
        iprog_quota=100,
        semaphore_quota=50,
        error_rate=0.1,
        latency_ms=20,
        callback_url="http://127.0.0.1:8000/hooks/",
        seed=1,
    )
    assert started["health"]["ok"] is True
    assert started["settings"]["iprog"]["quota"] == 100
    assert started["settings"]["semaphore"]["quota"] == 50
    assert started["settings"]["iprog"]["error_rate"] == 0.1
    assert started["settings"]["semaphore"]["callback_url"] == "http://127.0.0.1:8000/hooks/"
    assert "Provider simulator on http://127.0.0.1:" in out.getvalue()


def test_command_rejects_bad_settings():
    command = run_provider_simulator.Command(stdout=io.StringIO())
    with pytest.raises(CommandError, match="error_rate"):
        command.handle(
            host="127.0.0.1",
            port=0,
            iprog_quota=None,
            semaphore_quota=None,
            error_rate=3.0,
            latency_ms=0,
            callback_url="",
            seed=None,
        )
