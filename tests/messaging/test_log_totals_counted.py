"""The log's totals read from the kept daily counts (status, network, channel, route, whole days) give exactly what
counting the matching messages gives, after sends, fallback, refusals, cancels, receipts and a repriced charge; any
other filter counts the messages themselves; another organization's messages never count."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging import selectors
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import Message, MessageStatus
from messaging.models_stats import MessageDailyCount
from messaging.providers.base import DeliveryReport, DeliveryState
from messaging.selectors import MessageFilters, message_list, message_totals
from messaging.services import daily_counts
from messaging.services.delivery import delivery_reports_apply
from messaging.services.sending import message_cancel, message_send
from portal.timezone import operator_tz
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, numbers
from tests.scale.test_daily_counts import counted, truth

SMART = ["09181234567", "09191234567", "09201234567"]


def exact(organization, filters: MessageFilters) -> tuple[int, Decimal]:
    """What the totals must be: the matching messages counted one by one."""
    totals = (
        message_list(organization=organization, filters=filters)
        .order_by()
        .aggregate(messages=Count("id"), credits=Sum("price"))
    )
    return totals["messages"], totals["credits"] or Decimal("0")


def totals_and_tables(organization, params: dict) -> tuple[tuple[int, Decimal], list[str]]:
    filters = MessageFilters.from_params(params)
    with CaptureQueriesContext(connection) as queries:
        totals = message_totals(organization=organization, filters=filters)
    tables = [
        table
        for query in queries.captured_queries
        for table in (MessageDailyCount._meta.db_table, Message._meta.db_table)
        if f'"{table}"' in query["sql"] or f" {table} " in query["sql"]
    ]
    return (totals.messages, totals.credits), tables


def test_counted_totals_equal_the_messages_for_every_counted_filter(
    provider_simulator, fast_retries, funded_org_a, funded_org_b, owner_a, django_capture_on_commit_callbacks
):
    primary, _ = make_chain(provider_simulator, primary_quota=4)  # the rest go by the fallback (no receipts there)
    message_send(organization=funded_org_b, recipients=numbers(5, start=300), body="Other", channel="api")
    message_send(organization=funded_org_a, recipients=numbers(6) + SMART, body="Counted", channel="api")
    message_send(
        organization=funded_org_a, recipients=numbers(2, start=50), body="A longer one " * 20, channel="dashboard"
    )
    message_send(organization=funded_org_a, recipients=["09001234567"], body="Refused", channel="api")
    later = message_send(
        organization=funded_org_a,
        recipients=SMART[:1],
        body="Later",
        channel="api",
        send_at=datetime.now(tz=operator_tz()) + timedelta(days=2),
    )
    dispatch_queued_messages()
    dispatch_queued_messages()
    message_cancel(organization=funded_org_a, actor=owner_a, message_id=later[0].pk)
    sent = Message.objects.filter(organization=funded_org_a, status=MessageStatus.SENT, provider__adapter="iprog")
    pmid = sent.values_list("provider_message_id", flat=True).first()
    delivery_reports_apply(
        provider=primary, reports=[DeliveryReport(provider_message_id=pmid, state=DeliveryState.DELIVERED)]
    )
    assert counted(funded_org_a) == truth(funded_org_a)

    today = datetime.now(tz=operator_tz()).date().isoformat()
    counted_filters = [
        {},
        {"status": "sent"},
        {"status": "sent,delivered"},
        {"status": "rejected"},
        {"status": "cancelled"},
        {"network": "smart"},
        {"network": "globe,smart", "status": "sent"},
        {"channel": "dashboard"},
        {"channel": "api", "network": "globe"},
        {"created_from": today},
        {"created_to": today},
        {"created_from": today, "created_to": today, "status": "delivered"},
        {"created_to": "2020-01-01"},
    ]
    for params in counted_filters:
        totals, tables = totals_and_tables(funded_org_a, params)
        assert totals == exact(funded_org_a, MessageFilters.from_params(params)), params
        assert tables == [MessageDailyCount._meta.db_table], params
    everything, _ = totals_and_tables(funded_org_a, {})
    assert everything[0] == 13 and everything[1] > 0  # 9 + 2 + 1 refused + 1 cancelled

    now = datetime.now(tz=operator_tz())
    assert totals_and_tables(funded_org_a, {"provider": "nowhere"}) == ((0, Decimal(0)), [])  # no such route
    for params in ({"provider": primary.name}, {"provider": primary.name, "status": "sent"}):
        totals, tables = totals_and_tables(funded_org_a, params)
        assert totals == exact(funded_org_a, MessageFilters.from_params(params)), params
        assert MessageDailyCount._meta.db_table in tables and Message._meta.db_table not in tables, params

    counting_messages = [
        {"to": numbers(1)[0]},
        {"q": "Counted"},
        {  # within one day
            "created_from": datetime.combine(now.date(), time(1), tzinfo=operator_tz()).isoformat(),
            "created_to": datetime.combine(now.date(), time(23), tzinfo=operator_tz()).isoformat(),
        },
    ]
    for params in counting_messages:
        totals, tables = totals_and_tables(funded_org_a, params)
        assert totals == exact(funded_org_a, MessageFilters.from_params(params)), params
        assert tables == [Message._meta.db_table], params


def test_a_repriced_charge_moves_the_counted_credits(chain, funded_org_a):
    [message] = message_send(organization=funded_org_a, recipients=numbers(1), body="Priced", channel="api")
    with transaction.atomic():
        old_price, message.price = message.price, message.price + Decimal("0.2500")
        Message.objects.filter(organization=funded_org_a, pk=message.pk).update(price=message.price)
        daily_counts.count_repriced(message, old_price)
    assert counted(funded_org_a) == truth(funded_org_a)
    totals = message_totals(organization=funded_org_a, filters=MessageFilters())
    assert totals.credits == message.price


def test_the_totals_page_counts_only_the_own_organization(
    chain, client_owner_a, funded_org_a, funded_org_b, django_capture_on_commit_callbacks
):
    message_send(organization=funded_org_a, recipients=numbers(2), body="Mine", channel="api")
    message_send(organization=funded_org_b, recipients=numbers(7, start=100), body="Theirs", channel="api")
    response = client_owner_a.get(reverse("messaging:totals"), {"status": "queued"})
    assert response.status_code == 200
    assert response.context["totals"].messages == 2
    assert "2 messages match these filters" in response.content.decode()


def _spread_over_days(organization, first_day) -> None:
    """Messages at four times of each of four Manila days, in two statuses and networks (written around the
    services, then recounted)."""
    tz = operator_tz()
    rows = []
    for day in range(4):
        for index, hour in enumerate((0, 9, 15, 23)):
            rows.append(
                Message(
                    organization=organization,
                    recipient=f"+6391{7 + index % 2}1234{day}{index}0",
                    network="globe" if index % 2 else "smart",
                    body="Spread",
                    sender_name="IPROGSMS",
                    encoding="gsm7",
                    segments=1,
                    price=Decimal("0.5") * (index + 1),
                    status=MessageStatus.SENT if hour < 12 else MessageStatus.DELIVERED,
                    channel="api",
                    created_at=datetime.combine(first_day + timedelta(days=day), time(hour, 30), tzinfo=tz),
                )
            )
    Message.objects.bulk_create(rows)
    daily_counts.daily_counts_rebuild(organization_id=organization.pk)


def test_a_range_that_starts_or_ends_within_a_day_adds_that_part_counted_from_the_messages(org_a, org_b):
    first_day = datetime.now(tz=operator_tz()).date() - timedelta(days=10)
    _spread_over_days(org_a, first_day)
    _spread_over_days(org_b, first_day)

    def at(day: int, hour: int, minute: int = 0) -> str:
        return datetime.combine(first_day + timedelta(days=day), time(hour, minute), tzinfo=operator_tz()).isoformat()

    ranges = [
        {"created_from": at(1, 10)},  # part of day 1, then whole days on
        {"created_to": at(2, 12)},  # whole days up to day 2, then part of it
        {"created_from": at(0, 9, 30), "created_to": at(3, 15, 30)},  # parts at both ends, whole days between
        {"created_from": at(1, 12), "created_to": at(2, 12)},  # two parts, no whole day
        {"created_from": at(1, 12), "created_to": str(first_day + timedelta(days=2))},  # a part, then a whole day
        {"created_from": at(2, 10), "created_to": at(1, 10)},  # backwards: nothing
        {"created_from": at(1, 10), "status": "delivered", "network": "globe"},
    ]
    for params in ranges:
        totals, tables = totals_and_tables(org_a, params)
        assert totals == exact(org_a, MessageFilters.from_params(params)), params
    assert totals_and_tables(org_a, ranges[2])[0][0] == 14  # 09:30 day 0 through 15:30 day 3, both included
    assert totals_and_tables(org_a, ranges[5])[0] == (0, Decimal(0))
    _, tables = totals_and_tables(org_a, ranges[2])
    assert sorted(tables) == sorted([MessageDailyCount._meta.db_table] + [Message._meta.db_table] * 2)
    within_a_day, tables = totals_and_tables(org_a, {"created_from": at(1, 8), "created_to": at(1, 16)})
    assert within_a_day[0] == 2 and tables == [Message._meta.db_table]


def test_a_filter_counted_from_the_messages_stops_past_the_limit(
    chain, client_owner_a, funded_org_a, funded_org_b, monkeypatch
):
    monkeypatch.setattr(selectors, "TOTALS_COUNT_LIMIT", 2)
    message_send(organization=funded_org_a, recipients=numbers(3), body="Parcel waiting", channel="api")
    message_send(organization=funded_org_a, recipients=numbers(2, start=10), body="Invoice ready", channel="api")
    message_send(organization=funded_org_b, recipients=numbers(5, start=20), body="Invoice ready", channel="api")

    parcel = message_totals(organization=funded_org_a, filters=MessageFilters.from_params({"q": "parcel"}))
    assert (parcel.messages, parcel.credits, parcel.more) == (2, None, True)
    invoice = message_totals(organization=funded_org_a, filters=MessageFilters.from_params({"q": "invoice"}))
    assert (invoice.messages, invoice.more) == (2, False)
    assert (invoice.messages, invoice.credits) == exact(funded_org_a, MessageFilters.from_params({"q": "invoice"}))
    # A filter the kept counts answer is never bounded.
    assert message_totals(organization=funded_org_a, filters=MessageFilters()).messages == 5

    shown = client_owner_a.get(reverse("messaging:totals"), {"q": "parcel"}).content.decode()
    assert "More than 2 messages match these filters; narrow them for an exact count and credits." in shown
    shown = client_owner_a.get(reverse("messaging:totals"), {"q": "invoice"}).content.decode()
    assert "2 messages match these filters, " in shown and "credits in all." in shown
