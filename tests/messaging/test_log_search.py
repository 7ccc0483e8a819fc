"""Search over the encrypted message text through its blind index (messaging.body_search): whole words, all of
them, one organization only, nothing readable in the database, gone with the body on erasure and purge."""

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.services import credits_adjust
from messaging.body_search import (
    MAX_TERMS,
    SEARCH_COUNT_WORK_MEM,
    body_terms,
    messages_with_words,
    normalised_words,
    search_count_memory,
)
from messaging.models import Message, MessageStatus
from messaging.selectors import MessageFilters, message_totals
from messaging.services.sending import message_send
from privacy.data.erasure import erasure_job_create
from privacy.data.erasure_run import erasures_run_due
from privacy.data.models import SubjectKind
from privacy.data.retention import _blank_bodies

PHONE = "+639171234567"


@pytest.fixture
def funded(org_a, org_b, offline_chain):
    for org in (org_a, org_b):
        credits_adjust(organization=org, actor=None, amount=Decimal("100.00"), reason="test funds")


def send(org, text, number=PHONE):
    [message] = message_send(organization=org, recipients=[number], body=text, channel="dashboard")
    return message


def log_rows(client, **params):
    response = client.get(reverse("messaging:log"), params)
    assert response.status_code == 200, response.content
    return [m.pk for m in response.context["rows"]]


def test_normalised_words():
    assert normalised_words("Ñiño's  BIRTHDAY, café-au-lait! a 7 42") == [
        "nino",
        "birthday",
        "cafe",
        "au",
        "lait",
        "42",
    ]
    assert body_terms("") == ""
    many = " ".join(f"w{i}" for i in range(200))
    assert body_terms(many).count(" ") == MAX_TERMS + 1  # capped; space before and after every term


def test_a_word_finds_its_message_and_never_another_organizations(client_owner_a, org_a, org_b, funded):
    shipped = send(org_a, "Your ORDER has shipped, Señor!")
    send(org_a, "Your appointment is tomorrow")
    theirs = send(org_b, "Your order has shipped too")
    assert log_rows(client_owner_a, q="order") == [shipped.pk]
    assert log_rows(client_owner_a, q="senor shipped") == [shipped.pk]  # every word, any case and accents
    assert log_rows(client_owner_a, q="order tomorrow") == []
    assert log_rows(client_owner_a, q="ship") == []  # whole words only
    assert theirs.pk not in log_rows(client_owner_a, q="shipped too")
    html = client_owner_a.get(reverse("messaging:log"), {"q": "order"}).content.decode()
    assert '<label class="form-label small" for="f-q">' in html and 'value="order"' in html
    assert client_owner_a.get(reverse("messaging:log"), {"q": "!"}).status_code == 400


def test_bulk_campaign_texts_are_indexed_per_recipient(client_owner_a, org_a, funded):
    messages = message_send(
        organization=org_a,
        recipients=["+639171234567", "+639181234567"],
        body="",
        bodies=["Hi Ana, sale today", "Hi Ben, sale today"],
        channel="csv",
    )
    assert log_rows(client_owner_a, q="ana sale") == [messages[0].pk]
    assert sorted(log_rows(client_owner_a, q="sale")) == sorted(m.pk for m in messages)


def test_the_database_holds_no_clear_word(org_a, funded):
    message = send(org_a, "Confidential diagnosis pneumonia")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body, body_terms FROM messaging_message WHERE id = %s", [message.pk])
        raw = " ".join(cursor.fetchone()).lower()
    assert raw.strip() and "pneumonia" not in raw and "diagnosis" not in raw and "confidential" not in raw


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_erasure_and_purge_clear_the_terms_with_the_body(org_a, funded, django_capture_on_commit_callbacks):
    erased = send(org_a, "Parcel for Juan")
    purged = send(org_a, "Old reminder", number="+639181234567")
    erasure_job_create(subject_kind=SubjectKind.RECIPIENT, phone_number=PHONE)
    later = timezone.now() + timedelta(hours=25)
    for now in (later, later + timedelta(minutes=10)):
        with django_capture_on_commit_callbacks(execute=True):
            erasures_run_due(now=now)
    _blank_bodies([purged.pk])
    for message in (erased, purged):
        row = Message.objects.unscoped().values("body", "body_terms").get(pk=message.pk)
        assert row == {"body": "", "body_terms": ""}


def test_totals_follow_the_search(client_owner_a, org_a, funded):
    send(org_a, "Promo code inside")
    send(org_a, "Nothing here")
    response = client_owner_a.get(reverse("messaging:totals"), {"q": "promo", "status": MessageStatus.QUEUED})
    assert response.context["totals"].messages == 1


def test_the_migration_indexes_existing_messages_in_batches(org_a, funded, monkeypatch):
    migration = importlib.import_module("messaging.migrations.0013_message_body_terms")
    monkeypatch.setattr(migration, "BATCH", 2)
    messages = [send(org_a, f"Old text number{i}", number=f"+63917123456{i}") for i in range(5)]
    Message.objects.unscoped().update(body_terms="")  # as they were before the column
    migration.index_existing_bodies(django_apps, None)
    for message in messages:
        stored = Message.objects.unscoped().values_list("body_terms", flat=True).get(pk=message.pk)
        assert stored == body_terms(message.body) != ""


@pytest.mark.postgres
def test_a_search_on_postgresql_is_answered_by_the_index_of_the_word_hashes(client_owner_a, org_a, funded):
    found = send(org_a, "Parcel 73115 is at the hub")
    send(org_a, "Parcel 99999 left the hub")
    assert log_rows(client_owner_a, q="73115 parcel") == [found.pk]
    # The condition alone (the page's query also orders by time, which the planner may read for a few rows).
    queryset = messages_with_words(Message.objects.unscoped().order_by(), "73115 parcel")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # two rows: without it the planner reads the table
        plan = queryset.explain()
    # The query's expression is the index's (migration 0022): PostgreSQL can answer the search from it.
    assert "message_body_terms_gin" in plan, plan


@pytest.mark.postgres
def test_the_totals_of_a_search_count_with_the_memory_that_keeps_the_bitmap_exact(client_owner_a, org_a, funded):
    send(org_a, "Promo code inside")
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        [(default,)] = cursor.fetchall()
    with CaptureQueriesContext(connection) as queries:
        totals = message_totals(organization=org_a, filters=MessageFilters(search="promo code"))
    assert totals.messages == 1
    statements = [query["sql"] for query in queries.captured_queries]
    setting = next(i for i, sql in enumerate(statements) if "set_config('work_mem'" in sql)
    count = next(i for i, sql in enumerate(statements) if "COUNT(" in sql.upper())
    assert setting < count
    with search_count_memory(), connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == SEARCH_COUNT_WORK_MEM != default
