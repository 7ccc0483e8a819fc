"""The fallback notice shows to the customers whose messages went through the fallback, takes one line (details
folded), can be dismissed by each person (a new fallback shows again), goes when staff raise the primary's quota,
and routing is explained in words, never as internal codes and counters."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import (
    DispatchAttempt,
    Message,
    MessageStatus,
    Notice,
    NoticeDismissal,
    NoticeKind,
    ProviderMonthlyUsage,
)
from messaging.routing import SkipReason
from messaging.services.notices import fallback_notice_publish, notice_publish, notice_refresh_fallback
from portal.timezone import month_start


@pytest.fixture
def fallback_in_use(offline_chain, org_a):
    primary, fallback = offline_chain
    primary.monthly_quota = 20
    primary.save(update_fields=["monthly_quota"])
    ProviderMonthlyUsage.objects.create(provider=primary, month=month_start(), messages=20)
    notice = fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.QUOTA)
    Notice.objects.filter(pk=notice.pk).update(published_at=timezone.now() - timedelta(minutes=10))
    message = Message.objects.create(
        organization=org_a,
        recipient="+639171234567",
        network="globe",
        body="Hi",
        sender_name="iprogtech",
        encoding="gsm7",
        segments=1,
        price=Decimal("1.0000"),
        status=MessageStatus.SENT,
        channel="api",
        provider=fallback,
    )
    DispatchAttempt.objects.create(
        message=message,
        provider=fallback,
        attempt_number=1,
        sender_name="iprogtech",
        skipped=[{"provider": primary.pk, "name": primary.name, "reason": "monthly_quota_used", "detail": "20 of 20"}],
    )
    return primary, fallback, notice, message


def shown_notices(client):
    html = client.get(reverse("dashboard")).content.decode()
    return html.count('class="alert alert-warning py-2 px-3 mb-2 d-flex align-items-start gap-2 site-notice"'), html


def test_shown_only_to_organizations_whose_messages_it_concerns(fallback_in_use, client_owner_a, client_owner_b):
    count_a, html_a = shown_notices(client_owner_a)
    assert count_a == 1 and "SMS Fallback Route" in html_a and "<details" in html_a
    count_b, _ = shown_notices(client_owner_b)
    assert count_b == 0  # Bravo sent nothing through the fallback


def test_dismissed_per_person_across_sign_ins_and_back_when_a_new_fallback_starts(
    fallback_in_use, client_owner_a, login_as, owner_a, admin_a, org_a
):
    primary, fallback, notice, _ = fallback_in_use
    response = client_owner_a.post(reverse("messaging:notice_dismiss", args=[notice.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert shown_notices(client_owner_a)[0] == 0
    assert NoticeDismissal.objects.filter(user=owner_a, notice=notice).count() == 1
    assert shown_notices(login_as(owner_a, org_a))[0] == 0  # a new sign-in (a new session): still dismissed
    assert shown_notices(login_as(admin_a, org_a))[0] == 1  # another member still sees it
    assert client_owner_a.post(reverse("messaging:notice_dismiss", args=[notice.pk])).status_code == 302
    assert NoticeDismissal.objects.filter(user=owner_a).count() == 1  # twice is once
    assert client_owner_a.post(reverse("messaging:notice_dismiss", args=[notice.pk + 999])).status_code == 404

    Notice.objects.filter(pk=notice.pk).update(withdrawn_at=timezone.now())
    again = fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.QUOTA)
    Notice.objects.filter(pk=again.pk).update(published_at=timezone.now() - timedelta(minutes=1))
    Message.objects.for_organization(org_a).update(created_at=timezone.now())
    assert again.pk != notice.pk
    assert shown_notices(client_owner_a)[0] == 1


def test_announcements_show_to_everyone(offline_chain, client_owner_b):
    notice_publish(kind=NoticeKind.ANNOUNCEMENT, title="Maintenance", body="Sunday 2 am.", dedupe_key="m1")
    count, html = shown_notices(client_owner_b)
    assert count == 1 and "Maintenance" in html


def test_goes_when_staff_raise_the_quota(fallback_in_use, client_owner_a):
    primary, _, notice, _ = fallback_in_use
    primary.monthly_quota = 1000
    primary.save(update_fields=["monthly_quota"])
    assert notice_refresh_fallback() is True
    assert shown_notices(client_owner_a)[0] == 0


def test_routing_is_explained_in_words(fallback_in_use, client_owner_a, client_owner_b):
    _, _, _, message = fallback_in_use
    html = client_owner_a.get(reverse("messaging:detail", args=[message.pk])).content.decode()
    assert "IPROGSMS had reached its monthly limit" in html
    assert "monthly_quota_used" not in html and "20 of 20" not in html
    assert client_owner_b.get(reverse("messaging:detail", args=[message.pk])).status_code == 404


def test_dismissing_needs_a_post_from_a_signed_in_person(client, fallback_in_use):
    _, _, notice, _ = fallback_in_use
    url = reverse("messaging:notice_dismiss", args=[notice.pk])
    assert client.post(url).status_code == 302  # to sign-in
