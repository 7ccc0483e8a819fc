"""Webhook settings page: secret shown once, change, delete, delivery log with retry; roles and isolation."""

import pytest
from django.urls import reverse

from messaging.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint


@pytest.fixture(autouse=True)
def private_hosts(settings):
    settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def client_dev_a(login_as, developer_a, org_a):
    return login_as(developer_a, org_a)


def make_delivery(endpoint, status=WebhookDeliveryStatus.FAILED, **extra):
    return WebhookDelivery.objects.create(
        organization=endpoint.organization,
        endpoint=endpoint,
        payload={"event": "message.status"},
        status=status,
        attempts=extra.get("attempts", 5),
        last_status_code=extra.get("last_status_code", 500),
        last_error="HTTP 500",
    )


def test_set_shows_secret_once(client_dev_a, org_a):
    response = client_dev_a.post(reverse("messaging:webhook"), {"action": "set", "url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.unscoped().get(organization=org_a)
    html = response.content.decode()
    assert f'id="new-secret">{endpoint.secret}<' in html
    page = client_dev_a.get(reverse("messaging:webhook")).content.decode()
    assert endpoint.secret not in page
    assert 'id="webhook-url">http://127.0.0.1:9/hook<' in page
    # Changing the URL keeps the secret and does not show it again.
    response = client_dev_a.post(
        reverse("messaging:webhook"), {"action": "set", "url": "http://127.0.0.1:9/other"}, follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/other"
    assert endpoint.secret not in response.content.decode()


def test_invalid_url_is_a_field_error(client_dev_a, settings, org_a):
    settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    response = client_dev_a.post(reverse("messaging:webhook"), {"action": "set", "url": "http://example.com/x"})
    assert response.status_code == 400
    assert "must use https" in response.content.decode()
    assert not WebhookEndpoint.objects.unscoped().exists()


def test_delete(client_dev_a, org_a):
    client_dev_a.post(reverse("messaging:webhook"), {"action": "set", "url": "http://127.0.0.1:9/hook"})
    response = client_dev_a.post(reverse("messaging:webhook"), {"action": "delete"})
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.unscoped().filter(organization=org_a).exists()


def test_deliveries_listed_and_retry(client_dev_a, org_a, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(organization=org_a, url="http://127.0.0.1:9/hook", secret="s" * 20)
    failed = make_delivery(endpoint)
    make_delivery(endpoint, status=WebhookDeliveryStatus.DELIVERED, last_status_code=204)
    html = client_dev_a.get(reverse("messaging:webhook")).content.decode()
    assert html.count('name="action" value="retry"') == 1
    assert ">500<" in html and ">204<" in html
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_dev_a.post(reverse("messaging:webhook"), {"action": "retry", "delivery_id": failed.pk})
    assert response.status_code == 302
    assert len(callbacks) == 1  # the retry is enqueued after commit
    failed.refresh_from_db()
    assert failed.status == WebhookDeliveryStatus.PENDING


def test_viewer_reads_but_cannot_change(login_as, viewer_a, org_a):
    endpoint = WebhookEndpoint.objects.create(organization=org_a, url="http://127.0.0.1:9/hook", secret="s" * 20)
    failed = make_delivery(endpoint)
    client = login_as(viewer_a, org_a)
    response = client.get(reverse("messaging:webhook"))
    assert response.status_code == 200
    assert 'id="webhook-form"' not in response.content.decode()
    assert client.post(reverse("messaging:webhook"), {"action": "delete"}).status_code == 403
    assert client.post(reverse("messaging:webhook"), {"action": "retry", "delivery_id": failed.pk}).status_code == 403
    assert WebhookEndpoint.objects.unscoped().filter(organization=org_a).exists()


def test_other_organization_cannot_see_or_retry(client_owner_b, org_a):
    endpoint = WebhookEndpoint.objects.create(organization=org_a, url="http://127.0.0.1:9/hook", secret="s" * 20)
    failed = make_delivery(endpoint)
    html = client_owner_b.get(reverse("messaging:webhook")).content.decode()
    assert "127.0.0.1:9/hook" not in html and 'id="webhook-none"' in html
    response = client_owner_b.post(reverse("messaging:webhook"), {"action": "retry", "delivery_id": failed.pk})
    assert response.status_code == 404
    failed.refresh_from_db()
    assert failed.status == WebhookDeliveryStatus.FAILED
