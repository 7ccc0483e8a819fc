"""The send page: permissions, the live segment/price counter, sending, and every kind of error shown."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from billing.models import CreditAccount
from billing.selectors import balance_get, message_price
from billing.services import credits_adjust
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.segments import count_segments

GSM_161 = "a" * 161
UCS2_BODY = "Salamat po! 🎉 Kita tayo bukas"
BODIES = [
    "Hello",
    "x" * 160,
    GSM_161,
    "Price: 100€ [promo] {code}",
    UCS2_BODY,
    "é" * 70 + "🎉",
    "Ñandú café",
]


@pytest.fixture
def chain(offline_chain):
    return offline_chain


@pytest.fixture
def funded_a(org_a):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test funds")
    return org_a


@pytest.fixture
def client_dev_a(login_as, developer_a, org_a):
    return login_as(developer_a, org_a)


def test_send_page_renders_for_member(client_dev_a, chain):
    response = client_dev_a.get(reverse("messaging:send"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="send-form"' in html
    assert 'hx-post="/messages/send/count/"' in html
    assert "keyup changed delay:200ms" in html
    # Sender names come from the enabled routes.
    assert '<option value="IPROGSMS"' in html and '<option value="iprogtech"' in html


def test_viewer_cannot_send(login_as, viewer_a, org_a, funded_a, chain):
    client = login_as(viewer_a, org_a)
    assert client.get(reverse("messaging:send")).status_code == 403
    response = client.post(reverse("messaging:send"), {"recipients": "09171234567", "body": "Hi"})
    assert response.status_code == 403
    assert not Message.objects.unscoped().exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("messaging:send"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("body", BODIES)
def test_live_count_uses_the_pricing_functions(client_dev_a, org_a, body):
    response = client_dev_a.post(
        reverse("messaging:count"), {"body": body, "recipients": "09171234567"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    info = count_segments(body)
    price = message_price(organization=org_a, segments=info.segments)
    assert f'id="count-segments">{info.segments}<' in html
    assert f'data-encoding="{info.encoding}"' in html
    assert f'id="count-characters">{info.characters}<' in html
    assert f'id="count-remaining">{info.remaining_in_segment}<' in html
    assert f'id="count-price">{price}<' in html
    assert "<html" not in html  # a partial, not a page


def test_live_count_gsm_161_is_two_segments_and_emoji_is_ucs2(client_dev_a):
    html = client_dev_a.post(reverse("messaging:count"), {"body": GSM_161}).content.decode()
    assert 'id="count-segments">2<' in html and 'data-encoding="gsm7"' in html
    html = client_dev_a.post(reverse("messaging:count"), {"body": "Hi 🎉"}).content.decode()
    assert 'id="count-segments">1<' in html and 'data-encoding="ucs2"' in html
    assert 'id="count-non-gsm"' in html


def test_live_count_multiplies_by_recipients(client_dev_a, org_a):
    html = client_dev_a.post(
        reverse("messaging:count"), {"body": "Hello", "recipients": "09171234567, 09181234567\n09191234567"}
    ).content.decode()
    price = message_price(organization=org_a, segments=1)
    assert f'id="count-total">{price * 3}<' in html


def test_send_one_message(client_dev_a, developer_a, funded_a, chain):
    before = balance_get(organization=funded_a)
    response = client_dev_a.post(
        reverse("messaging:send"),
        {"recipients": "0917 123 4567", "body": GSM_161, "sender_name": "iprogtech"},
    )
    message = Message.objects.unscoped().get()
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:detail", args=[message.pk])
    assert message.recipient == "+639171234567"
    assert message.channel == MessageChannel.DASHBOARD
    assert message.segments == 2
    assert message.requested_sender_name == "iprogtech"
    assert message.created_by == developer_a
    assert balance_get(organization=funded_a) == before - message.price


def test_send_many_redirects_to_log(client_dev_a, funded_a, chain):
    response = client_dev_a.post(
        reverse("messaging:send"), {"recipients": "09171234567,\n09181234567; 09191234567", "body": "Hello"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:log")
    assert Message.objects.unscoped().filter(organization=funded_a).count() == 3


def test_send_scheduled_is_philippine_time(client_dev_a, funded_a, chain):
    client_dev_a.post(
        reverse("messaging:send"),
        {"recipients": "09171234567", "body": "Later", "send_at": "2099-01-01T09:00"},
    )
    # Too far ahead (the engine allows 90 days): nothing stored, the error is on the field.
    assert not Message.objects.unscoped().exists()
    when = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client_dev_a.post(reverse("messaging:send"), {"recipients": "09171234567", "body": "Later", "send_at": when})
    message = Message.objects.unscoped().get()
    assert timezone.localtime(message.send_at).strftime("%Y-%m-%dT%H:%M") == when
    assert message.status == MessageStatus.QUEUED


def test_bad_numbers_are_listed_and_input_kept(client_dev_a, funded_a, chain):
    response = client_dev_a.post(
        reverse("messaging:send"),
        {"recipients": "09171234567, 12345, hello\n09181234567", "body": "Keep me"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="bad-recipients"' in html
    assert "#2 <code>12345</code>" in html
    assert "#3 <code>hello</code>" in html
    assert "09171234567" not in html.split('id="bad-recipients"')[1].split("</ul>")[0]
    assert "Keep me</textarea>" in html
    assert "09171234567, 12345, hello" in html
    assert not Message.objects.unscoped().exists()


def test_insufficient_credits_shown_clearly(client_dev_a, org_a, chain):
    response = client_dev_a.post(reverse("messaging:send"), {"recipients": "09171234567", "body": "Hi there"})
    assert response.status_code == 402
    html = response.content.decode()
    assert 'id="send-error" data-code="insufficient_credits"' in html
    assert "Hi there</textarea>" in html
    assert not Message.objects.unscoped().exists()


def test_monthly_limit_shown_clearly(client_dev_a, funded_a, chain):
    CreditAccount.objects.unscoped().filter(organization=funded_a).update(monthly_segment_limit=1)
    response = client_dev_a.post(reverse("messaging:send"), {"recipients": "09171234567", "body": GSM_161})
    assert response.status_code == 403
    assert 'data-code="monthly_limit_reached"' in response.content.decode()
    assert not Message.objects.unscoped().exists()


def test_no_route_configured_is_an_error_not_a_crash(client_dev_a, funded_a):
    response = client_dev_a.post(reverse("messaging:send"), {"recipients": "09171234567", "body": "Hi"})
    assert response.status_code == 503
    assert 'data-code="no_route_configured"' in response.content.decode()


def test_empty_body_is_a_field_error(client_dev_a, funded_a, chain):
    response = client_dev_a.post(reverse("messaging:send"), {"recipients": "09171234567", "body": ""})
    assert response.status_code == 400
    assert "is-invalid" in response.content.decode()
    assert not Message.objects.unscoped().exists()


def test_send_uses_the_active_organization_only(client_owner_b, funded_a, chain):
    credits_adjust(organization=client_owner_b_org(client_owner_b), actor=None, amount=Decimal("10"), reason="t")
    client_owner_b.post(reverse("messaging:send"), {"recipients": "09171234567", "body": "Hi"})
    assert not Message.objects.unscoped().filter(organization=funded_a).exists()
    assert Message.objects.unscoped().count() == 1


def client_owner_b_org(client):
    return Organization.objects.get(slug="bravo")
