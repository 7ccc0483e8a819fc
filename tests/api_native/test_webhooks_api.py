"""POST /api/v1/webhook/test, GET /api/v1/webhook/deliveries/{id}, POST .../{id}/retry: per organization, scoped."""

import json

from messaging.models import WebhookDelivery, WebhookDeliveryStatus
from messaging.services.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_endpoint_set, webhook_signature
from tests.messaging.conftest import ReceiptSink


def _sink():
    return ReceiptSink()


def test_the_test_event_reaches_the_webhook_signed(org_a, scoped_client):
    sink = _sink()
    try:
        _, secret = webhook_endpoint_set(organization=org_a, url=sink.url)
        response = scoped_client(org_a, "admin").post("/api/v1/webhook/test")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["event"] == "webhook.test" and body["status"] == "delivered"
        assert body["attempts"] == 1 and body["last_status_code"] == 204 and body["message_id"] is None
        [received] = sink.wait_for(1)
    finally:
        sink.close()
    headers = {name.lower(): value for name, value in received["headers"].items()}
    assert received["body"]["event"] == "webhook.test"
    assert received["body"]["data"]["organization"] == "alpha"
    raw = json.dumps(received["body"], separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(headers[TIMESTAMP_HEADER.lower()])
    assert headers[SIGNATURE_HEADER.lower()] == webhook_signature(secret=secret, timestamp=timestamp, body=raw)
    # It is in the delivery log, readable with the read scope.
    reader = scoped_client(org_a, "read")
    assert reader.get("/api/v1/webhook/deliveries").json()["results"][0]["id"] == body["id"]
    assert reader.get(f"/api/v1/webhook/deliveries/{body['id']}").json()["status"] == "delivered"


def test_a_failing_test_event_is_failed_at_once_and_not_retried(org_a, scoped_client):
    webhook_endpoint_set(organization=org_a, url="http://127.0.0.1:9/closed")
    body = scoped_client(org_a, "admin").post("/api/v1/webhook/test").json()
    assert body["status"] == "failed" and body["last_error"]
    stored = WebhookDelivery.objects.get(organization=org_a, pk=body["id"])
    assert stored.status == WebhookDeliveryStatus.FAILED


def test_no_webhook_or_a_disabled_one_answers_clearly(org_a, scoped_client):
    client = scoped_client(org_a, "admin")
    response = client.post("/api/v1/webhook/test")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    webhook_endpoint_set(organization=org_a, url="http://127.0.0.1:9/closed", enabled=False)
    response = client.post("/api/v1/webhook/test")
    assert response.status_code == 409 and response.json()["error"]["code"] == "webhook_disabled"


def test_retry_and_read_another_organizations_delivery_is_404(org_a, org_b, scoped_client):
    webhook_endpoint_set(organization=org_a, url="http://127.0.0.1:9/closed")
    failed_id = scoped_client(org_a, "admin").post("/api/v1/webhook/test").json()["id"]
    other = scoped_client(org_b, "admin", "read")
    assert other.get(f"/api/v1/webhook/deliveries/{failed_id}").status_code == 404
    assert other.post(f"/api/v1/webhook/deliveries/{failed_id}/retry").status_code == 404
    assert other.post("/api/v1/webhook/test").status_code == 404  # B has no webhook; A's is not used
    retried = scoped_client(org_a, "admin").post(f"/api/v1/webhook/deliveries/{failed_id}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    assert scoped_client(org_a, "read").post(f"/api/v1/webhook/deliveries/{failed_id}/retry").status_code == 403


def test_retrying_a_delivered_event_is_409(org_a, scoped_client):
    sink = _sink()
    try:
        webhook_endpoint_set(organization=org_a, url=sink.url)
        delivered_id = scoped_client(org_a, "admin").post("/api/v1/webhook/test").json()["id"]
    finally:
        sink.close()
    response = scoped_client(org_a, "admin").post(f"/api/v1/webhook/deliveries/{delivered_id}/retry")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_delivered"
