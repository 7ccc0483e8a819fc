"""Suppressions ("do not send to me") and per-person objections, and the code that must respect them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.api_usage import api_request_logs_flush
from messaging.models import Message, MessageStatus, Provider
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError, Conflict
from privacy.data.models import ProcessingKind, ProcessingObjection, Suppression, SuppressionSource
from privacy.data.objections import (
    processing_objection_add,
    processing_objection_withdraw,
    recipient_is_suppressed,
    suppressed_numbers,
    suppression_add,
    suppression_remove,
    user_allows,
)
from privacy.data.usage_analytics import usage_analytics_summary, usage_analytics_users
from privacy.requests.fulfilment import objection_apply
from privacy.requests.models import RequestKind
from tests.privacy.data_helpers import ALICE_PHONE, BOB_PHONE, make_api_log, make_message, make_request

pytestmark = pytest.mark.django_db


def test_suppressed_numbers_is_one_query_and_returns_the_inputs_as_given(django_assert_num_queries):
    suppression_add(phone_number=ALICE_PHONE, source=SuppressionSource.STOP_REPLY)
    with django_assert_num_queries(1):
        found = suppressed_numbers(phone_numbers=[ALICE_PHONE, "09171234567", BOB_PHONE, "not a number"])
    assert found == {ALICE_PHONE, "09171234567"}
    assert recipient_is_suppressed(phone_number="+63 917 123 4567")
    assert not recipient_is_suppressed(phone_number=BOB_PHONE)
    assert suppressed_numbers(phone_numbers=[]) == set()


def test_the_suppression_table_holds_no_number():
    suppression_add(phone_number=ALICE_PHONE, source=SuppressionSource.REQUEST)
    row = Suppression.objects.get()
    assert ALICE_PHONE not in str(row.__dict__) and "9171234567" not in row.phone_hash
    assert len(row.phone_hash) == 64


def test_suppression_add_is_idempotent_and_remove_lifts_it(owner_a):
    first = suppression_add(phone_number=ALICE_PHONE, source=SuppressionSource.STOP_REPLY)
    again = suppression_add(phone_number="09171234567", source=SuppressionSource.STAFF, actor=owner_a)
    assert first.pk == again.pk
    assert suppression_remove(phone_number=ALICE_PHONE, actor=owner_a, reason="replied START")
    assert not recipient_is_suppressed(phone_number=ALICE_PHONE)
    assert not suppression_remove(phone_number=ALICE_PHONE)
    # A later STOP suppresses again (a new row; the history stays).
    suppression_add(phone_number=ALICE_PHONE, source=SuppressionSource.STOP_REPLY)
    assert recipient_is_suppressed(phone_number=ALICE_PHONE)
    assert Suppression.objects.count() == 2


def test_suppression_add_rejects_bad_input():
    with pytest.raises(ApplicationError, match="source"):
        suppression_add(phone_number=ALICE_PHONE, source="rumour")
    with pytest.raises(ApplicationError, match="required"):
        suppression_add(phone_number="  ", source=SuppressionSource.STAFF)
    assert not Suppression.objects.exists()


def test_user_allows_follows_active_objections(developer_a, viewer_a):
    assert user_allows(user=developer_a, processing=ProcessingKind.USAGE_ANALYTICS)
    processing_objection_add(user=developer_a, processing=ProcessingKind.USAGE_ANALYTICS)
    assert not user_allows(user=developer_a, processing="usage_analytics")
    assert user_allows(user=developer_a, processing="marketing_email")
    assert user_allows(user=viewer_a, processing="usage_analytics")
    assert processing_objection_withdraw(user=developer_a, processing="usage_analytics")
    assert user_allows(user=developer_a, processing="usage_analytics")
    assert ProcessingObjection.objects.filter(user=developer_a).count() == 1  # withdrawn, kept as history
    with pytest.raises(ValueError, match="Unknown processing"):
        user_allows(user=developer_a, processing="usage_analytic")


def test_objection_apply_records_switches_and_a_suppression(developer_a):
    request = make_request(
        kind=RequestKind.OBJECT,
        user=developer_a,
        phone_number=ALICE_PHONE,
        objections=["sms", "marketing_email", "extended_monitoring"],
        verification_method="sms",
    )
    objection_apply(request=request)
    assert recipient_is_suppressed(phone_number=ALICE_PHONE)
    assert Suppression.objects.get().source == SuppressionSource.REQUEST
    assert not user_allows(user=developer_a, processing="marketing_email")
    assert not user_allows(user=developer_a, processing="extended_monitoring")
    assert user_allows(user=developer_a, processing="usage_analytics")
    objection_apply(request=request)  # applying twice changes nothing
    assert ProcessingObjection.objects.filter(withdrawn_at__isnull=True).count() == 2


def test_objection_apply_explains_what_is_missing():
    no_phone = make_request(kind=RequestKind.OBJECT, email="someone@example.ph", objections=["sms"])
    with pytest.raises(Conflict, match="phone number"):
        objection_apply(request=no_phone)
    unproven = make_request(
        kind=RequestKind.OBJECT, email="someone@example.ph", phone_number=ALICE_PHONE, objections=["sms"]
    )
    with pytest.raises(Conflict, match="not proven") as excinfo:
        objection_apply(request=unproven)
    assert excinfo.value.code == "phone_not_proven" and not recipient_is_suppressed(phone_number=ALICE_PHONE)
    no_account = make_request(kind=RequestKind.OBJECT, email="someone@example.ph", objections=["marketing_email"])
    with pytest.raises(Conflict, match="account"):
        objection_apply(request=no_account)


def test_usage_analytics_leaves_out_people_who_objected(org_a, developer_a, viewer_a, owner_a):
    since = timezone.now() - timedelta(days=30)
    for user in (developer_a, viewer_a):
        make_message(org_a, BOB_PHONE, "hello", created_by=user)
        make_api_log(user, org_a)
    before = usage_analytics_summary(since=since)
    processing_objection_add(user=viewer_a, processing=ProcessingKind.USAGE_ANALYTICS)
    after = usage_analytics_summary(since=since)
    assert viewer_a not in usage_analytics_users()
    assert developer_a in usage_analytics_users()
    assert after["users"] == before["users"] - 1
    assert (before["messages_sent_by_users"], after["messages_sent_by_users"]) == (2, 1)
    assert (before["api_requests_by_users"], after["api_requests_by_users"]) == (2, 1)


def test_staff_usage_analytics_page_counts_only_consenting_users(client, org_a, developer_a, viewer_a):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_user(email="staff@portal.example", password="x" * 12, is_staff=True)
    processing_objection_add(user=viewer_a, processing=ProcessingKind.USAGE_ANALYTICS)
    make_message(org_a, BOB_PHONE, "hello", created_by=viewer_a)
    make_message(org_a, BOB_PHONE, "hello", created_by=developer_a)
    client.force_login(staff)
    response = client.get("/privacy/data/staff/usage-analytics/")
    assert response.status_code == 200
    assert response.context["summary"]["messages_sent_by_users"] == 1
    client.force_login(developer_a)
    assert client.get("/privacy/data/staff/usage-analytics/").status_code == 302  # not staff: to the admin login


@pytest.fixture
def provider(db):
    return Provider.objects.create(
        name="Simulated IPROG",
        adapter="iprog",
        base_url="http://127.0.0.1:9",
        sender_name="IPROGSMS",
        callback_secret="s" * 32,
    )


def test_suppression_blocks_sending_in_every_organization(org_a, org_b, provider):
    from decimal import Decimal

    from billing.models import LedgerEntry
    from billing.services import credits_adjust
    from messaging.services.sending import message_send

    for organization in (org_a, org_b):
        credits_adjust(organization=organization, actor=None, amount=Decimal("100.00"), reason="test funds")
    suppression_add(phone_number=ALICE_PHONE, source=SuppressionSource.STOP_REPLY)
    charges_before = LedgerEntry.objects.unscoped().filter(kind="charge").count()
    for organization in (org_a, org_b):
        messages = message_send(
            organization=organization, recipients=["09171234567", BOB_PHONE], body="Sale today", channel="api"
        )
        by_number = {m.recipient: m for m in messages}
        assert by_number[ALICE_PHONE].status == MessageStatus.REJECTED
        assert by_number[ALICE_PHONE].error_code == "recipient_opted_out"
        assert by_number[BOB_PHONE].status == MessageStatus.QUEUED
    assert (
        LedgerEntry.objects.unscoped().filter(kind="charge").count() == charges_before + 2
    )  # only Bob's, once per org
    assert (
        Message.objects.unscoped()
        .filter(recipient_hash=phone_lookup_hash(ALICE_PHONE), status=MessageStatus.REJECTED)
        .count()
        == 2
    )


def test_a_user_switches_optional_processing_off_and_on_from_the_privacy_centre(login_as, org_a, developer_a, owner_b):
    from accounts.models import APIRequestLog

    client = login_as(developer_a, org_a)
    page = client.get("/privacy/")
    assert b'data-processing="extended_monitoring"' in page.content
    assert [c["allowed"] for c in page.context["processing_choices"]] == [True, True, True]

    response = client.post("/privacy/processing/", {"processing": "extended_monitoring", "allow": "0"})
    assert response.status_code == 302
    assert not user_allows(user=developer_a, processing=ProcessingKind.EXTENDED_MONITORING)
    # The API request log now leaves out who and where for this person, and only for them.
    client.get("/api/v1/me", REMOTE_ADDR="198.51.100.7")
    api_request_logs_flush()  # the log is written in batches
    mine = APIRequestLog.objects.unscoped().filter(path="/api/v1/me").latest("id")
    assert (mine.user_id, mine.ip_address, mine.organization_id) == (None, None, org_a.pk)
    other = login_as(owner_b, owner_b.memberships.get().organization)
    other.get("/api/v1/me", REMOTE_ADDR="198.51.100.8")
    api_request_logs_flush()
    theirs = APIRequestLog.objects.unscoped().filter(path="/api/v1/me").latest("id")
    assert (theirs.user_id, theirs.ip_address) == (owner_b.pk, "198.51.100.8")

    client.post("/privacy/processing/", {"processing": "extended_monitoring", "allow": "1"})
    assert user_allows(user=developer_a, processing=ProcessingKind.EXTENDED_MONITORING)
    bad = client.post("/privacy/processing/", {"processing": "astrology", "allow": "0"}, follow=True)
    assert "Unknown processing" in bad.content.decode()
    assert client.post("/privacy/processing/", {"processing": "marketing_email"}).status_code == 302
    assert not user_allows(user=developer_a, processing=ProcessingKind.MARKETING_EMAIL)


def test_the_processing_switches_need_a_signed_in_user(client):
    response = client.post("/privacy/processing/", {"processing": "marketing_email", "allow": "0"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ProcessingObjection.objects.exists()
