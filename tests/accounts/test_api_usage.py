"""API usage: every call is logged (key, route pattern, status, latency, address, user agent, time) in batches, not
one INSERT per request; daily sums per key, route and status class feed the API keys page, which shows calls per
day and errors per key of its own organization only, in a fixed number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.api_usage import api_request_logs_flush, api_request_logs_waiting
from accounts.models import APIRequestLog, APIUsageDaily
from accounts.usage_selectors import api_usage_per_day, api_usage_per_key
from portal.timezone import operator_date
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def batched(settings):
    api_request_logs_flush()
    settings.API_REQUEST_LOG_BATCH_SIZE = 5
    settings.API_REQUEST_LOG_FLUSH_SECONDS = 3600
    yield settings
    api_request_logs_flush()


def _log_writes(captured) -> list[str]:
    tables = (APIRequestLog._meta.db_table, APIUsageDaily._meta.db_table)
    return [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in tables)]


def test_requests_are_written_in_batches_not_one_insert_each(batched, api_client_a, api_key_a, org_a):
    with CaptureQueriesContext(connection) as captured:
        for _ in range(4):
            assert api_client_a.get("/api/v1/me").status_code == 200
    assert _log_writes(captured) == []
    assert api_request_logs_waiting() == 4
    assert not APIRequestLog.objects.unscoped().exists()
    with CaptureQueriesContext(connection) as captured:
        api_client_a.get("/api/v1/me")  # the fifth: the batch is written
    inserts = [sql for sql in _log_writes(captured) if sql.startswith("INSERT")]
    assert len(inserts) == 2  # the five rows in one statement, and one new daily sum
    assert APIRequestLog.objects.unscoped().filter(organization=org_a).count() == 5
    assert api_request_logs_waiting() == 0
    [usage] = APIUsageDaily.objects.for_organization(org_a)
    assert (usage.api_key_id, usage.route, usage.status_class, usage.calls) == (api_key_a[0].pk, "api/v1/me", 2, 5)


def test_a_batch_is_also_written_once_its_oldest_row_waited_long_enough(settings, api_client_a, org_a):
    api_request_logs_flush()
    settings.API_REQUEST_LOG_BATCH_SIZE = 1000
    settings.API_REQUEST_LOG_FLUSH_SECONDS = 0
    api_client_a.get("/api/v1/me")
    assert APIRequestLog.objects.unscoped().filter(organization=org_a).count() == 1


def test_the_row_names_the_route_pattern_key_status_address_and_user_agent(api_key_a, org_a, key_a_raw):
    client = bearer_client(key_a_raw)
    response = client.get("/api/v1/messages/987654", HTTP_USER_AGENT="acme-billing/2.1", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    APIClient().get("/api/v4/account", {"apikey": key_a_raw}, HTTP_USER_AGENT="semaphore-sms/0.4")
    assert api_request_logs_flush() == 2
    rows = list(APIRequestLog.objects.unscoped().filter(organization=org_a).order_by("id"))
    assert [(r.route, r.path, r.status_code, r.api_key_id) for r in rows] == [
        ("api/v1/messages/<int:message_id>", "/api/v1/messages/987654", 404, api_key_a[0].pk),
        ("api/v4/account", "/api/v4/account", 200, api_key_a[0].pk),
    ]
    assert [r.user_agent for r in rows] == ["acme-billing/2.1", "semaphore-sms/0.4"]
    assert rows[0].ip_address == "203.0.113.9" and rows[0].duration_ms >= 0 and rows[0].created_at is not None
    sums = {
        (u.route, u.status_class): u.calls
        for u in APIUsageDaily.objects.for_organization(org_a).filter(day=operator_date())
    }
    assert sums == {("api/v1/messages/<int:message_id>", 4): 1, ("api/v4/account", 2): 1}


@pytest.fixture
def key_a_raw(api_key_a):
    return api_key_a[1]


def test_usage_per_day_and_per_key(org_a, org_b, api_key_a, api_key_b, django_assert_num_queries):
    today = operator_date()
    key_a = api_key_a[0]
    APIUsageDaily.objects.bulk_create(
        [
            APIUsageDaily(
                organization=org_a, api_key=key_a, day=today, method="GET", route="r", status_class=2, calls=7
            ),
            APIUsageDaily(
                organization=org_a, api_key=key_a, day=today, method="GET", route="r", status_class=4, calls=2
            ),
            # Two rows for the same sums (written by two processes at once) add up.
            APIUsageDaily(
                organization=org_a, api_key=key_a, day=today, method="GET", route="r", status_class=4, calls=1
            ),
            APIUsageDaily(
                organization=org_a,
                api_key=None,
                day=today - timedelta(days=3),
                method="GET",
                route="r",
                status_class=5,
                calls=4,
            ),
            # Outside the 14 days, and another organization's: not counted.
            APIUsageDaily(
                organization=org_a,
                api_key=key_a,
                day=today - timedelta(days=14),
                method="GET",
                route="r",
                status_class=2,
                calls=100,
            ),
            APIUsageDaily(
                organization=org_b,
                api_key=api_key_b[0],
                day=today,
                method="GET",
                route="r",
                status_class=2,
                calls=50,
            ),
        ]
    )
    with django_assert_num_queries(2):
        days = api_usage_per_day(organization=org_a)
        keys = api_usage_per_key(organization=org_a)
    assert len(days) == 14 and days[0].day == today - timedelta(days=13) and days[-1].day == today
    assert (days[-1].calls, days[-1].errors) == (10, 3)
    assert (days[-4].calls, days[-4].errors) == (4, 4)
    assert sum(day.calls for day in days) == 14
    assert [(k.api_key_id, k.name, k.calls, k.errors) for k in keys] == [
        (key_a.pk, key_a.name, 10, 3),
        (None, "Signed-in sessions", 4, 4),
    ]


def test_api_keys_page_shows_only_its_organizations_usage_in_fixed_queries(
    login_as, owner_a, org_a, org_b, api_key_a, api_key_b
):
    bearer_client(api_key_a[1]).get("/api/v1/me")
    bearer_client(api_key_a[1]).get("/api/v1/messages/1")  # 404: an error
    for _ in range(3):
        bearer_client(api_key_b[1]).get("/api/v1/messages/1")
    assert api_request_logs_flush() == 5
    client = login_as(owner_a, org_a)
    client.get("/organization/api-keys/")  # warm the per-plan caches
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/organization/api-keys/")
    few = len(captured.captured_queries)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('id="api-usage"') == 1  # the panel once (an id is unique on a page)
    usage = html[html.index('id="api-usage"') : html.index('id="api-keys-table"')]
    assert "Alpha server" in usage and "Bravo server" not in usage
    assert api_key_b[0].prefix not in usage
    keys = api_usage_per_key(organization=org_a)
    assert [(k.name, k.calls, k.errors) for k in keys] == [("Alpha server", 2, 1)]
    # Much more traffic, on more days and keys, and the other organization's: the page runs the same queries.
    APIUsageDaily.objects.bulk_create(
        [
            APIUsageDaily(
                organization=org,
                api_key=key,
                day=operator_date() - timedelta(days=d),
                method="GET",
                route="r",
                status_class=s,
                calls=9,
            )
            for org, key in ((org_a, api_key_a[0]), (org_a, None), (org_b, api_key_b[0]))
            for d in range(14)
            for s in (2, 4, 5)
        ]
    )
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/organization/api-keys/").status_code == 200
    assert len(captured.captured_queries) == few


def test_a_flush_updates_the_daily_sums_in_one_order_whatever_the_order_of_its_requests(
    batched, api_client_a, api_client_b, org_a, org_b
):
    """Two processes' flushes lock the same sums in the same order, so they wait for each other, never deadlock."""
    for client in (api_client_a, api_client_b):
        client.get("/api/v1/me")
    api_request_logs_flush()  # the sums exist: the next flushes update them

    def updated_organizations(clients) -> list[int]:
        for client in clients:
            client.get("/api/v1/me")
        with CaptureQueriesContext(connection) as captured:
            api_request_logs_flush()
        updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
        return [int(re.search(r'"organization_id" = (\d+)', sql).group(1)) for sql in updates]

    expected = sorted([org_a.pk, org_b.pk])
    assert updated_organizations([api_client_b, api_client_a]) == expected
    assert updated_organizations([api_client_a, api_client_b]) == expected
