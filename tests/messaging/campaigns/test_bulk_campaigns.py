"""A CSV bulk send is a named campaign: merge fields from any column are filled per row (unknown or empty ones are
row errors, never sent with braces), a number repeated in any form (0917..., +63917..., 63917...) is shown in the
preview and sent and charged once unless "send to duplicates" is ticked."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.selectors import balance_get
from messaging import csv_import
from messaging.campaigns import selectors as campaign_selectors
from messaging.campaigns.models import CampaignSource
from messaging.models import Message

TEXT = (
    "phone,name,city\n"
    "0917 123 4567,Ana,Makati\n"
    "+639171234567,Ana again,Makati\n"
    "639171234567,Ana thrice,Makati\n"
    "09181234567,Ben,\n"
    "09191234567,Cara,Pasig\n"
)


@pytest.fixture
def client_dev_a(login_as, developer_a, org_a):
    return login_as(developer_a, org_a)


def upload(client, text=TEXT, **data):
    file = SimpleUploadedFile("november.csv", text.encode(), content_type="text/csv")
    response = client.post(reverse("messaging:bulk"), {"file": file, **data})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


def test_preview_counts_duplicates_in_any_form_and_merge_errors(client_dev_a, org_a, funded):
    bulk_id = upload(client_dev_a, body="Hi {name} from {city}!", name="November")
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    assert (bulk.valid_rows, bulk.duplicates, bulk.invalid_rows, bulk.to_send) == (4, 2, 1, 2)
    assert [d["first_row"] for d in bulk.duplicate_rows] == [2, 2]
    assert bulk.errors == [{"row": 5, "input": "09181234567", "reason": "Empty merge field {city} for this recipient."}]
    assert Decimal(bulk.price_total) == Decimal("2.00") and Decimal(bulk.duplicates_price) == Decimal("2.00")
    html = client_dev_a.get(reverse("messaging:bulk_detail", args=[bulk_id])).content.decode()
    assert 'id="bulk-duplicates"' in html and "Send to duplicates" in html


def test_duplicates_are_sent_and_charged_once_as_a_named_campaign(
    client_dev_a, org_a, funded, django_capture_on_commit_callbacks
):
    bulk_id = upload(client_dev_a, body="Hi {name} from {city}!", name="November")
    with django_capture_on_commit_callbacks(execute=True):
        client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    messages = list(Message.objects.for_organization(org_a))
    assert sorted(m.body for m in messages) == ["Hi Ana from Makati!", "Hi Cara from Pasig!"]
    assert balance_get(organization=org_a) == Decimal("98.00")
    campaign = campaign_selectors.campaign_get(organization=org_a, campaign_id=messages[0].campaign_id)
    assert campaign.name == "November" and campaign.source == CampaignSource.CSV
    assert campaign.progress.counts["queued"] == 2 and campaign.status == "sending"
    log = client_dev_a.get(reverse("messaging:log") + f"?campaign={campaign.pk}").content.decode()
    assert log.count('class="message-row"') == 2


def test_ticking_send_to_duplicates_sends_every_row(client_dev_a, org_a, funded, django_capture_on_commit_callbacks):
    bulk_id = upload(client_dev_a, body="Hi {name}!")
    with django_capture_on_commit_callbacks(execute=True):
        client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]), {"send_to_duplicates": "on"})
    bodies = sorted(m.body for m in Message.objects.for_organization(org_a))
    assert bodies == ["Hi Ana again!", "Hi Ana thrice!", "Hi Ana!", "Hi Ben!", "Hi Cara!"]
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    assert bulk.accepted == 5 and bulk.percent == 100


def test_an_unknown_merge_field_is_a_row_error_not_literal_text(client_dev_a, org_a, funded):
    bulk_id = upload(client_dev_a, body="Hi {nmae}!")
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    assert bulk.valid_rows == 0 and bulk.invalid_rows == 5
    assert "Unknown merge field {nmae}" in bulk.errors[0]["reason"]


def test_the_log_refuses_a_bad_campaign_filter_and_another_organizations_is_empty(
    client_dev_a, client_owner_b, org_a, funded, django_capture_on_commit_callbacks
):
    bulk_id = upload(client_dev_a, body="Hi {name}!")
    with django_capture_on_commit_callbacks(execute=True):
        client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    campaign_id = Message.objects.for_organization(org_a).first().campaign_id
    assert client_dev_a.get(reverse("messaging:log") + "?campaign=abc").status_code == 400
    theirs = client_owner_b.get(reverse("messaging:log") + f"?campaign={campaign_id}").content.decode()
    assert 'class="message-row"' not in theirs
    assert client_owner_b.get(reverse("messaging:campaign_detail", args=[campaign_id])).status_code == 404
