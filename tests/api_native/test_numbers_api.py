"""The 08XX mobile blocks through the API: accepted and priced like 09XX; a number no network owns is named with
its index, and nothing is sent or charged."""

from billing.models import LedgerEntry, LedgerEntryKind
from tests.api_native.conftest import fund


def test_08xx_numbers_are_sent_and_an_unowned_prefix_is_named(org_a, org_b, scoped_client, offline_provider):
    fund(org_a)
    client = scoped_client(org_a, "send")
    refused = client.post(
        "/api/v1/messages", {"to": ["0813 123 4567", "08121234567", "+63 895 123 4567"], "body": "Hi"}, format="json"
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_recipients"
    [bad] = error["details"]["recipients"]
    assert bad["index"] == 1 and bad["input"] == "08121234567"
    assert "no mobile network owns the prefix 0812" in bad["message"]
    assert not LedgerEntry.objects.filter(organization=org_a, kind=LedgerEntryKind.CHARGE).exists()

    sent = client.post(
        "/api/v1/messages",
        {"to": ["08131234567", "08171234567", "08951234567", "08981234567"], "body": "Hi"},
        format="json",
    )
    assert sent.status_code == 201, sent.json()
    results = sent.json()["results"]
    assert [(m["to"], m["network"]) for m in results] == [
        ("+638131234567", "smart"),
        ("+638171234567", "globe"),
        ("+638951234567", "dito"),
        ("+638981234567", "dito"),
    ]
    assert LedgerEntry.objects.filter(organization=org_a, kind=LedgerEntryKind.CHARGE).count() == 4
    # Another organization's key does not see these messages.
    other = scoped_client(org_b, "read")
    assert other.get(f"/api/v1/messages/{results[0]['id']}").status_code == 404
    assert other.get("/api/v1/messages").json()["results"] == []
