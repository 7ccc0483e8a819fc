"""The messaging API: send, list (filters, cursor, query count), detail, cancel, explain, OTP, notices, webhooks,
Idempotency-Key; every endpoint refuses the other organization's key (404 for its objects)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messaging.models import IdempotencyKey, Message, MessageStatus
from messaging.services.notices import notice_publish
from messaging.services.sending import message_send
from messaging.services.webhooks import webhook_endpoint_set
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, numbers, refunds

MESSAGE_KEYS = {
    "id",
    "to",
    "sender_name",
    "body",
    "encoding",
    "segments",
    "price",
    "status",
    "provider",
    "network",
    "created_at",
    "sent_at",
    "delivered_at",
    "error",
}


@pytest.fixture
def sent_a(chain, funded_org_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return message_send(organization=funded_org_a, recipients=numbers(3), body="Hi A", channel="api")


@pytest.fixture
def sent_b(chain, funded_org_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return message_send(organization=funded_org_b, recipients=["09181112222"], body="Hi B", channel="api")


def test_send_one_number_answers_201_with_the_message(
    chain, funded_org_a, api_client_a, django_capture_on_commit_callbacks, provider_simulator
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_a.post("/api/v1/messages", {"to": "0917 123 4567", "body": "Hello"}, format="json")
    assert response.status_code == 201, response.json()
    [message] = response.json()["results"]
    assert set(message) >= MESSAGE_KEYS
    assert message["to"] == "+639171234567"
    assert message["network"] == "globe"
    assert (message["encoding"], message["segments"]) == ("gsm7", 1)
    assert message["status"] == "queued"  # the answer is written before the worker runs
    stored = Message.objects.unscoped().get(pk=message["id"])
    assert stored.status == MessageStatus.SENT and stored.channel == "api"
    assert [m["recipient"] for m in provider_simulator.sent] == ["+639171234567"]


def test_send_batch_with_invalid_numbers_is_refused_whole(chain, funded_org_a, api_client_a):
    response = api_client_a.post(
        "/api/v1/messages", {"to": ["09171234567", "not-a-number", "+1 555 0100"], "body": "x"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_recipients"
    assert "'not-a-number'" in error["message"] and "'+1 555 0100'" in error["message"]
    assert [r["index"] for r in error["details"]["recipients"]] == [1, 2]
    assert not Message.objects.unscoped().exists() and charges(funded_org_a) == []


def test_send_more_than_1000_is_refused(chain, funded_org_a, api_client_a):
    response = api_client_a.post("/api/v1/messages", {"to": numbers(1001), "body": "x"}, format="json")
    assert response.status_code == 400
    assert not Message.objects.unscoped().exists()


def test_send_without_credits_is_402(chain, org_a, api_client_a):
    response = api_client_a.post("/api/v1/messages", {"to": "09171234567", "body": "x"}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"


def test_viewer_session_cannot_send(chain, funded_org_a, login_as, viewer_a):
    client = login_as(viewer_a, funded_org_a)
    response = client.post("/api/v1/messages", {"to": "09171234567", "body": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert client.get("/api/v1/messages").status_code == 200


def test_idempotency_key_replays_and_refuses_a_different_body(
    chain, funded_org_a, api_client_a, api_client_b, funded_org_b, django_capture_on_commit_callbacks
):
    payload = {"to": ["09171234567", "09181234567"], "body": "Once"}
    with django_capture_on_commit_callbacks(execute=True):
        first = api_client_a.post("/api/v1/messages", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
        replay = api_client_a.post("/api/v1/messages", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert Message.objects.unscoped().count() == 2 and len(charges(funded_org_a)) == 2

    other = api_client_a.post(
        "/api/v1/messages", {**payload, "body": "Twice"}, format="json", HTTP_IDEMPOTENCY_KEY="order-42"
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are per organization: the other organization's same key is a new request.
    with django_capture_on_commit_callbacks(execute=True):
        theirs = api_client_b.post("/api/v1/messages", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert theirs.status_code == 201
    assert {m["id"] for m in theirs.json()["results"]}.isdisjoint({m["id"] for m in first.json()["results"]})
    assert Message.objects.unscoped().count() == 4


def test_idempotency_key_expires_after_24_hours(chain, funded_org_a, api_client_a):
    payload = {"to": "09171234567", "body": "Once"}
    assert api_client_a.post("/api/v1/messages", payload, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    IdempotencyKey.objects.unscoped().update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_client_a.post("/api/v1/messages", payload, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert Message.objects.unscoped().count() == 2


def test_list_is_scoped_filtered_paginated_with_bounded_queries(
    sent_a, sent_b, api_client_a, django_assert_max_num_queries, funded_org_a
):
    with django_assert_max_num_queries(8):
        response = api_client_a.get("/api/v1/messages", {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["results"]] == [sent_a[2].pk, sent_a[1].pk]
    assert body["next"] and body["next_cursor"]
    page_two = api_client_a.get("/api/v1/messages", {"page_size": 2, "cursor": body["next_cursor"]}).json()
    assert [m["id"] for m in page_two["results"]] == [sent_a[0].pk]
    assert page_two["next"] is None
    # Query count does not grow with the page size.
    message_send(organization=funded_org_a, recipients=numbers(30, start=100), body="More", channel="api")
    with django_assert_max_num_queries(8):
        assert len(api_client_a.get("/api/v1/messages", {"page_size": 50}).json()["results"]) == 33


def test_list_filters(sent_a, sent_b, api_client_a, funded_org_a):
    Message.objects.unscoped().filter(pk=sent_a[0].pk).update(status=MessageStatus.DELIVERED, network="smart")
    assert [m["id"] for m in api_client_a.get("/api/v1/messages?status=delivered").json()["results"]] == [sent_a[0].pk]
    assert [m["id"] for m in api_client_a.get("/api/v1/messages?network=smart").json()["results"]] == [sent_a[0].pk]
    by_provider = api_client_a.get("/api/v1/messages", {"provider": "IPROGSMS"}).json()["results"]
    assert len(by_provider) == 3
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert api_client_a.get("/api/v1/messages", {"created_from": tomorrow}).json()["results"] == []
    assert len(api_client_a.get("/api/v1/messages", {"created_to": tomorrow}).json()["results"]) == 3
    bad = api_client_a.get("/api/v1/messages?status=lost")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_filter"
    assert api_client_a.get("/api/v1/messages?cursor=garbage").status_code == 400


def test_detail_and_other_organization_is_404(sent_a, sent_b, api_client_a, api_client_b):
    response = api_client_a.get(f"/api/v1/messages/{sent_a[0].pk}")
    assert response.status_code == 200
    assert response.json()["provider"] == "IPROGSMS" and response.json()["sender_name"] == "IPROGSMS"
    assert api_client_b.get(f"/api/v1/messages/{sent_a[0].pk}").status_code == 404
    assert api_client_a.get(f"/api/v1/messages/{sent_b[0].pk}").status_code == 404
    assert api_client_a.get("/api/v1/messages/999999").status_code == 404
    b_list = api_client_b.get("/api/v1/messages").json()["results"]
    assert [m["id"] for m in b_list] == [sent_b[0].pk]


def test_cancel_scheduled_refunds_and_other_org_is_404(
    chain, funded_org_a, api_client_a, api_client_b, provider_simulator, django_capture_on_commit_callbacks
):
    send_at = (timezone.now() + timedelta(hours=2)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client_a.post(
            "/api/v1/messages", {"to": "09171234567", "body": "Later", "send_at": send_at}, format="json"
        )
    message_id = created.json()["results"][0]["id"]
    assert provider_simulator.sent == []
    assert api_client_b.post(f"/api/v1/messages/{message_id}/cancel").status_code == 404
    response = api_client_a.post(f"/api/v1/messages/{message_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert [e.message_id for e in refunds(funded_org_a)] == [message_id]
    again = api_client_a.post(f"/api/v1/messages/{message_id}/cancel")
    assert again.status_code == 409
    assert len(refunds(funded_org_a)) == 1


def test_explain(chain, funded_org_a, api_client_a, api_client_b, funded_org_b):
    primary, fallback = chain
    response = api_client_a.post("/api/v1/messages/explain", {"to": "09171234567", "body": "Hello"}, format="json")
    assert response.status_code == 200
    assert response.json()["provider"] == "IPROGSMS"
    assert response.json()["sender_name"] == "IPROGSMS"
    primary.monthly_quota = 0
    primary.save()
    explained = api_client_b.post(
        "/api/v1/messages/explain", {"to": "09171234567", "body": "Salamat 😊"}, format="json"
    ).json()
    assert explained["provider"] == "iprogtech fallback"
    assert explained["sender_name"] == "iprogtech"
    assert explained["is_fallback"] is True
    assert explained["encoding"] == "ucs2"
    assert explained["skipped"] == [{"name": "IPROGSMS", "reason": "monthly_quota_used"}]  # no shared usage figures
    assert not Message.objects.unscoped().exists() and charges(funded_org_a) == [] and charges(funded_org_b) == []
    assert api_client_a.post("/api/v1/messages/explain", {"to": "123", "body": "x"}, format="json").status_code == 400


def test_otp_send_and_verify_over_the_api(
    chain, funded_org_a, api_client_a, api_client_b, provider_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_a.post(
            "/api/v1/otp/send",
            {"phone_number": "09171234567", "template": "Your code is :otp"},
            format="json",
        )
    assert response.status_code == 201
    assert "code" not in response.json() and response.json()["message"]["channel"] == "otp"
    code = provider_simulator.sent[0]["message"].removeprefix("Your code is ")
    assert len(code) == 6 and code.isdigit()
    # The other organization cannot verify organization A's code.
    other = api_client_b.post("/api/v1/otp/verify", {"phone_number": "09171234567", "code": code}, format="json")
    assert other.json() == {"valid": False}
    verify = api_client_a.post("/api/v1/otp/verify", {"phone_number": "09171234567", "code": code}, format="json")
    assert verify.json() == {"valid": True}
    bad_template = api_client_a.post(
        "/api/v1/otp/send", {"phone_number": "09171234567", "template": "no code"}, format="json"
    )
    assert bad_template.status_code == 400


def test_notices(chain, api_client_a, client_owner_b):
    assert api_client_a.get("/api/v1/notices").json() == {"results": [], "next": None}
    notice_publish(kind="announcement", title="Maintenance", body="Tonight 1-2am.", dedupe_key="maint")
    [notice] = api_client_a.get("/api/v1/notices").json()["results"]
    assert notice["title"] == "Maintenance"
    assert client_owner_b.get("/api/v1/notices").json()["results"][0]["title"] == "Maintenance"


def test_webhook_endpoint_api_is_per_organization(chain, api_client_a, api_client_b, login_as, viewer_a, org_a):
    response = api_client_a.put("/api/v1/webhook", {"url": "http://127.0.0.1:9/hook"}, format="json")
    assert response.status_code == 200
    assert response.json()["secret"].startswith("whsec_")
    assert "secret" not in api_client_a.get("/api/v1/webhook").json()
    # Changing the URL keeps the secret and does not show it again; giving a new one shows that one.
    changed = api_client_a.put("/api/v1/webhook", {"url": "http://127.0.0.1:9/other"}, format="json").json()
    assert changed["url"] == "http://127.0.0.1:9/other" and "secret" not in changed
    rotated = api_client_a.put(
        "/api/v1/webhook", {"url": "http://127.0.0.1:9/other", "secret": "s" * 20}, format="json"
    ).json()
    assert rotated["secret"] == "s" * 20
    assert api_client_b.get("/api/v1/webhook").status_code == 404
    assert api_client_b.get("/api/v1/webhook/deliveries").json() == {"results": [], "next": None}
    viewer = login_as(viewer_a, org_a)
    assert viewer.put("/api/v1/webhook", {"url": "http://x"}, content_type="application/json").status_code == 403
    assert api_client_a.delete("/api/v1/webhook").status_code == 204
    assert api_client_b.delete("/api/v1/webhook").status_code == 404


def test_schema_documents_the_endpoints(api_client_a, client_owner_a):
    response = client_owner_a.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in [
        "/api/v1/messages",
        "/api/v1/messages/{message_id}/cancel",
        "/api/v1/messages/explain",
        "/api/v1/otp/send",
        "/api/v1/otp/verify",
        "/api/v1/notices",
    ]:
        assert path in text


def test_send_1000_recipients_in_bounded_queries(chain, funded_org_a, api_client_a, django_assert_max_num_queries):
    # Bulk writes: a few statements on PostgreSQL; SQLite splits each bulk insert by its 999-variable limit.
    limit = 25 if connection.vendor == "postgresql" else 100
    with django_assert_max_num_queries(limit):
        response = api_client_a.post("/api/v1/messages", {"to": numbers(1000), "body": "Bulk"}, format="json")
    assert response.status_code == 201
    assert len(response.json()["results"]) == 1000
    assert Message.objects.unscoped().filter(status=MessageStatus.QUEUED).count() == 1000
    assert len(charges(funded_org_a)) == 1000


def test_webhook_delivery_list_queries_do_not_grow(
    chain, funded_org_a, api_client_a, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    webhook_endpoint_set(organization=funded_org_a, url="http://127.0.0.1:9/unreachable")
    with django_capture_on_commit_callbacks(execute=True):
        message_send(organization=funded_org_a, recipients=numbers(20), body="x", channel="api")
    with django_assert_max_num_queries(6):
        response = api_client_a.get("/api/v1/webhook/deliveries")
    results = response.json()["results"]
    assert len(results) == 20
    assert {r["status"] for r in results} == {"pending"}  # port 9 refuses: retried later
    assert all(r["attempts"] == 1 and r["last_error"] for r in results)
