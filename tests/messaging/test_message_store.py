"""Messages written with COPY (PostgreSQL, a send of many) or with one INSERT of their own (a small send) hold
exactly what `bulk_create` stores: the number and text encrypted, the number's lookup hash, every default; each comes
back with its id; the charge names each one."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import LedgerEntry
from billing.services import credits_adjust
from messaging.models import Message
from messaging.models_stats import MessageDailyCount
from messaging.services.message_store import COPY_MIN_ROWS
from messaging.services.sending import message_send
from portal.crypto import PHONE_LOOKUP_PURPOSE, keyed_hash

from .conftest import closed_port_route

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's; SQLite keeps bulk_create"),
]

# Every column but the id and the ciphertexts (a fresh nonce each time) must be what bulk_create stores.
_COMPARED = [
    f.attname for f in Message._meta.concrete_fields if f.attname not in ("id", "recipient", "body", "delivery_body")
]


@pytest.fixture
def funded(org_a):
    closed_port_route(name="Route", adapter="semaphore", sender_name="ROUTE", priority=1)
    credits_adjust(organization=org_a, actor=None, amount=Decimal("1000.00"), reason="test")


def test_a_large_send_is_copied_and_reads_back_like_a_bulk_created_one(org_a, owner_a, funded):
    numbers = [f"+6391712{index:05d}" for index in range(COPY_MIN_ROWS + 5)]
    bodies = [f"Hello {index} ñ" for index in range(len(numbers))]
    copied = message_send(
        organization=org_a, actor=owner_a, recipients=numbers, body=bodies[0], bodies=bodies, channel="csv"
    )
    small = message_send(organization=org_a, actor=owner_a, recipients=numbers[:1], body=bodies[0], channel="csv")[0]
    assert all(m.pk for m in copied) and len({m.pk for m in copied}) == len(copied)
    stored = {m.pk: m for m in Message.objects.for_organization(org_a).filter(pk__in=[m.pk for m in copied])}
    for sent, number, text in zip(copied, numbers, bodies, strict=True):
        row = stored[sent.pk]
        assert (row.recipient, row.body, row.delivery_body) == (number, text, "")
        assert row.recipient_hash == keyed_hash(number, purpose=PHONE_LOOKUP_PURPOSE)
        assert {f: getattr(row, f) for f in _COMPARED} == {f: getattr(sent, f) for f in _COMPARED}
    # The same columns as the one-row INSERT path, apart from what differs by message.
    reference = Message.objects.for_organization(org_a).get(pk=small.pk)
    first = stored[copied[0].pk]
    for name in _COMPARED:
        if name not in ("recipient_hash", "body_terms", "created_at", "next_attempt_at", "status_changed_at"):
            assert getattr(first, name) == getattr(reference, name), name
    charges = LedgerEntry.objects.unscoped().filter(organization=org_a, kind="charge", message_id__in=stored)
    assert charges.count() == len(copied)
    # Ids come from the table's own sequence: a message stored afterwards gets a higher one.
    assert small.pk > max(stored)


def test_a_small_send_is_one_insert_that_stores_what_bulk_create_stores(org_a, owner_a, funded):
    """The one-statement INSERT of a small send (with the daily counts' upsert in front) against Django's own
    `bulk_create` of equal messages."""
    numbers = ["+639171234567", "+639181234567", "+639991234567"]
    with CaptureQueriesContext(connection) as queries:
        sent = message_send(organization=org_a, actor=owner_a, recipients=numbers, body="Hi ñ", channel="api")
    inserts = [
        q["sql"] for q in queries.captured_queries if "INSERT INTO" in q["sql"] and "messaging_message" in q["sql"]
    ]
    assert len(inserts) == 1 and inserts[0].startswith("WITH earlier AS (INSERT INTO messaging_messagedailycount")
    assert [m.pk for m in sent] == sorted(m.pk for m in sent)
    messages = Message.objects.for_organization(org_a)
    reference = [messages.get(pk=m.pk) for m in sent]
    copies = []
    for row in reference:
        copy = messages.get(pk=row.pk)
        copy.pk = None
        copy._state.adding = True
        copies.append(copy)
    Message.objects.bulk_create(copies)
    for row, number, copy in zip(reference, numbers, copies, strict=True):
        stored = messages.get(pk=copy.pk)
        assert (row.recipient, row.body) == (number, "Hi ñ")
        assert {f: getattr(row, f) for f in _COMPARED} == {f: getattr(stored, f) for f in _COMPARED}
    counted = MessageDailyCount.objects.for_organization(org_a).filter(status="queued")
    by_network = {row.network: (row.messages, row.credits) for row in counted}
    price = reference[0].price
    assert by_network == {"globe": (1, price), "smart": (2, 2 * price)}  # 0917 Globe; 0918 and 0999 Smart
