"""Routing rules (pure logic), the Manila month, notices, the demo chain and the staff admin pages."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import Task

from accounts.models import User
from messaging.models import CircuitState, Notice, Provider
from messaging.periodic import SCHEDULE
from messaging.routing import RouteState, SkipReason, choose_route
from messaging.services.notices import (
    fallback_dedupe_key,
    fallback_notice_publish,
    notice_publish,
    notice_refresh_fallback,
    notice_withdraw,
)
from messaging.services.providers import (
    provider_callback_url,
    provider_circuit_reset,
    provider_seed_demo_chain,
    provider_simulator_connect,
)
from messaging.services.sending import message_send
from portal.timezone import month_start, next_month_start
from tests.conftest import make_user
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)


def provider(pk, **fields):
    values = {
        "name": f"P{pk}",
        "sender_name": f"S{pk}",
        "enabled": True,
        "networks": [],
        "monthly_quota": None,
    }
    values.update(fields)
    return Provider(pk=pk, **values)


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_first_able_provider_wins_and_skips_are_explained():
    chain = [
        RouteState(provider(1, enabled=False), 0),
        RouteState(provider(2, networks=["globe"]), 0),
        RouteState(provider(3, monthly_quota=10), 10),
        RouteState(provider(4, exhausted_until=NOW + timedelta(days=3)), 0),
        RouteState(provider(5, circuit_state=CircuitState.OPEN, circuit_opened_at=NOW), 0),
        RouteState(provider(6), 0),
        RouteState(provider(7), 0),
    ]
    decision = choose_route(chain=chain, network="smart", now=NOW, failed_provider_ids=frozenset({6}))
    assert decision.provider.pk == 7 and decision.sender_name == "S7"
    assert [s.reason for s in decision.skipped] == [
        SkipReason.DISABLED,
        SkipReason.NETWORK,
        SkipReason.QUOTA,
        SkipReason.PROVIDER_LIMIT,
        SkipReason.CIRCUIT_OPEN,
        SkipReason.FAILED_FOR_MESSAGE,
    ]


def test_no_provider_gives_an_empty_decision():
    decision = choose_route(chain=[RouteState(provider(1, monthly_quota=1), 1)], network="globe", now=NOW)
    assert decision.provider is None and decision.skipped[0].reason == SkipReason.QUOTA


def test_open_circuit_after_cooldown_allows_exactly_one_probe(settings):
    opened = NOW - timedelta(seconds=settings.SMS_CIRCUIT_COOLDOWN_SECONDS + 1)
    state = RouteState(provider(1, circuit_state=CircuitState.OPEN, circuit_opened_at=opened), 0)
    first = choose_route(chain=[state], network="tm", now=NOW)
    assert first.provider.pk == 1 and first.is_probe
    state.probe_taken = True
    second = choose_route(chain=[state], network="tm", now=NOW)
    assert second.provider is None and second.skipped[0].reason == SkipReason.PROBE_IN_FLIGHT


def test_quota_month_is_the_manila_calendar_month():
    # 2026-11-30 16:30 UTC is already 1 December 00:30 in Manila.
    moment = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert month_start(moment).isoformat() == "2026-12-01"
    assert month_start(moment - timedelta(hours=1)).isoformat() == "2026-11-01"
    assert next_month_start(moment - timedelta(hours=1)) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert next_month_start(datetime(2026, 12, 15, tzinfo=UTC)).isoformat() == "2027-01-01T00:00:00+08:00"


def test_notice_publish_is_idempotent_per_key_and_withdraw(db):
    first = notice_publish(kind="announcement", title="A", body="b", dedupe_key="k")
    again = notice_publish(kind="announcement", title="A2", body="b", dedupe_key="k")
    assert first.pk == again.pk and Notice.objects.get().title == "A2"
    notice_withdraw(dedupe_key="k")
    notice_withdraw(dedupe_key="k")
    assert Notice.objects.get().withdrawn_at is not None
    assert notice_publish(kind="announcement", title="A", body="b", dedupe_key="k").pk != first.pk


def test_seed_demo_chain_is_idempotent(db, provider_simulator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        provider_seed_demo_chain(simulator_url=provider_simulator.base_url)
    # The running simulator was told where to POST each API's receipts (the route's secret URL).
    configured = provider_simulator.settings()
    assert configured["iprog"]["callback_url"] == provider_callback_url(Provider.objects.get(name="IPROGSMS"))
    assert "/api/v1/callbacks/semaphore/" in configured["semaphore"]["callback_url"]
    Provider.objects.filter(name="IPROGSMS").update(monthly_quota=999, consecutive_failures=2)
    provider_seed_demo_chain(simulator_url=provider_simulator.base_url)
    primary, fallback = Provider.objects.order_by("priority")
    assert (primary.name, primary.sender_name, primary.monthly_quota, primary.priority) == (
        "IPROGSMS",
        "IPROGSMS",
        20,
        10,
    )
    assert (fallback.sender_name, fallback.networks, fallback.adapter) == ("iprogtech", [], "semaphore")
    assert fallback.priority > primary.priority
    assert primary.consecutive_failures == 2  # health is kept
    assert Provider.objects.count() == 2


def test_a_restarted_simulator_is_pointed_back_at_our_callbacks(db, provider_simulator):
    provider_seed_demo_chain(simulator_url=provider_simulator.base_url)
    provider_simulator.reset()  # what a restart does: the simulator forgets where receipts go
    assert provider_simulator.settings()["iprog"]["callback_url"] == ""
    assert provider_simulator_connect(simulator_url=provider_simulator.base_url) is True
    configured = provider_simulator.settings()
    assert configured["iprog"]["callback_url"] == provider_callback_url(Provider.objects.get(name="IPROGSMS"))
    assert configured["semaphore"]["callback_url"] == provider_callback_url(
        Provider.objects.get(name="iprogtech fallback")
    )
    assert provider_simulator_connect(simulator_url="http://127.0.0.1:9") is False  # no provider uses it


@pytest.fixture
def staff_client(client, db):
    staff = make_user("staff@portal.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_admin_pages_and_route_explain(staff_client, chain, funded_org_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [message] = message_send(organization=funded_org_a, recipients=["09171234567"], body="x", channel="api")
    for url in [
        "/admin/messaging/provider/",
        "/admin/messaging/message/",
        f"/admin/messaging/message/{message.pk}/change/",
        "/admin/messaging/dispatchattempt/",
        "/admin/messaging/notice/",
        "/admin/messaging/webhookdelivery/",
        "/admin/messaging/provider/route-explain/",
    ]:
        assert staff_client.get(url).status_code == 200, url
    response = staff_client.post(
        "/admin/messaging/provider/route-explain/",
        {"organization": funded_org_a.pk, "to": "09171234567", "body": "Hi"},
    )
    assert response.status_code == 200
    assert b"<th>Sender name</th><td>IPROGSMS</td>" in response.content
    assert staff_client.get("/admin/messaging/message/add/").status_code == 403


def test_admin_is_for_staff_only(client_owner_a):
    response = client_owner_a.get("/admin/messaging/provider/route-explain/")
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


def test_periodic_schedule_names_real_tasks():
    assert SCHEDULE
    for dotted_path, seconds in SCHEDULE:
        assert isinstance(import_string(dotted_path), Task), dotted_path
        assert seconds >= 10


def test_fallback_notice_stays_while_the_primary_is_unhealthy_and_goes_after_a_reset(chain, settings):
    primary, fallback = chain
    Provider.objects.filter(pk=primary.pk).update(
        circuit_state=CircuitState.OPEN, circuit_opened_at=timezone.now(), consecutive_failures=5
    )
    primary.refresh_from_db()
    fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.CIRCUIT_OPEN)
    assert notice_refresh_fallback() is False
    # Past the cool-down a probe would be allowed, but the notice stays until the probe succeeds.
    later = timezone.now() + timedelta(seconds=settings.SMS_CIRCUIT_COOLDOWN_SECONDS + 1)
    assert notice_refresh_fallback(now=later) is False
    provider_circuit_reset(provider=primary)
    assert notice_refresh_fallback() is True
    assert not Notice.objects.filter(withdrawn_at__isnull=True).exists()


def test_a_notice_staff_withdrew_stays_withdrawn_until_the_primary_carries_traffic_again(chain):
    staff_user = User.objects.create_user(email="ops@operator.example", password="x" * 12, is_staff=True)
    primary, fallback = chain
    notice = fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.QUOTA)
    notice_withdraw(dedupe_key=fallback_dedupe_key(primary), actor=staff_user)
    # The next batch still falls back: staff's decision holds.
    assert fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.QUOTA) is None
    assert not Notice.objects.filter(withdrawn_at__isnull=True).exists()
    # The primary sent again (e.g. a new month) and later fell back once more: customers are told again.
    Provider.objects.filter(pk=primary.pk).update(last_success_at=timezone.now() + timedelta(seconds=1))
    primary.refresh_from_db()
    again = fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.QUOTA)
    assert again is not None and again.pk != notice.pk and again.withdrawn_at is None


def test_admin_never_shows_stored_provider_credentials_and_keeps_them_when_left_empty(staff_client, chain):
    primary, _ = chain
    url = f"/admin/messaging/provider/{primary.pk}/change/"
    page = staff_client.get(url)
    assert page.status_code == 200 and b"test-token" not in page.content
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(
        {
            "credentials": "",
            "networks": primary.networks,
            "callback_secret": primary.callback_secret,
            "monthly_quota": primary.monthly_quota or "",
        }
    )
    data = {k: v for k, v in data.items() if v is not None}
    data["name"] = "IPROGSMS renamed"
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    primary.refresh_from_db()
    assert primary.name == "IPROGSMS renamed" and json.loads(primary.credentials) == {"api_token": "test-token"}
