"""Bulk send from a CSV upload: validation preview with row numbers, confirmation, chunked background sending,
progress polling, file-level errors, isolation between organizations."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.services import organization_suspend
from billing.selectors import message_price
from billing.services import credits_adjust
from messaging import csv_import
from messaging.models import Message, MessageChannel
from messaging.services import sending
from portal.crypto import phone_lookup_hash
from tests.messaging.address_book_fixtures import *  # noqa: F403 (fixtures: chain, no_dispatch, private_storage)


@pytest.fixture
def send_calls(monkeypatch):
    calls = []
    original = sending.message_send

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(sending, "message_send", spy)
    return calls


@pytest.fixture
def client_dev_a(login_as, developer_a, org_a):
    return login_as(developer_a, org_a)


def csv_file(text: str, name="contacts.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def upload(client, text, **data):
    return client.post(reverse("messaging:bulk"), {"file": csv_file(text), **data})


def bulk_id_of(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


def test_upload_page_renders_and_viewer_is_refused(client_dev_a, login_as, viewer_a, org_a, chain):
    assert client_dev_a.get(reverse("messaging:bulk")).status_code == 200
    viewer = login_as(viewer_a, org_a)
    assert viewer.get(reverse("messaging:bulk")).status_code == 403
    assert upload(viewer, "number\n09171234567\n", body="Hi").status_code == 403


def test_preview_reports_bad_rows_by_number(client_dev_a, org_a, chain):
    text = "Name,Phone,Message\nAna,09171234567,\nBen,12345,\n\nCy,+639181234567,Own text\nDi,,\nEd,09191234567,\n"
    response = upload(client_dev_a, text, body="Common body")
    bulk_id = bulk_id_of(response)
    page = client_dev_a.get(reverse("messaging:bulk_detail", args=[bulk_id]))
    html = page.content.decode()
    bulk = page.context["bulk"]
    assert (bulk.total_rows, bulk.valid_rows, bulk.invalid_rows) == (5, 3, 2)
    assert [(e["row"], e["input"]) for e in bulk.errors] == [(3, "12345"), (6, "")]
    assert '<tr data-row="3"><td>3</td><td><code>12345</code>' in html
    assert '<tr data-row="6"><td>6</td><td><code>(empty)</code>' in html
    assert 'id="bulk-confirm"' in html and "Send 3 messages (skip 2 rows with errors)" in html
    assert not Message.objects.unscoped().exists()  # nothing sent before confirmation


def test_rows_without_message_and_no_common_body_are_errors(client_dev_a, org_a, chain):
    bulk_id = bulk_id_of(upload(client_dev_a, "to,message\n09171234567,Hello\n09181234567,\n"))
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    assert bulk.valid_rows == 1
    assert bulk.errors[0]["row"] == 3 and "No message" in bulk.errors[0]["reason"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name,email\nAna,a@example.com\n", "header naming the number column"),
        (b"number\n", "no rows"),
        (b"", "empty"),
        ("number\n0917123456\xe9\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_file_level_errors_are_clear_and_keep_nothing(client_dev_a, chain, private_storage, content, expected):
    response = client_dev_a.post(
        reverse("messaging:bulk"),
        {"file": SimpleUploadedFile("x.csv", content, content_type="text/csv"), "body": "Hi"},
    )
    if content == b"":
        assert response.status_code == 400  # Django refuses an empty upload itself
        return
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not any(Path(private_storage).rglob("upload.csv"))


def test_too_many_rows_is_refused(client_dev_a, chain, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_ROWS", 5)
    text = "number\n" + "".join(f"0917{1000000 + i:07d}\n" for i in range(6))
    response = upload(client_dev_a, text, body="Hi")
    assert response.status_code == 400
    assert "more than 5 rows" in response.content.decode()


def test_confirm_sends_in_chunks_of_at_most_1000(
    client_dev_a,
    developer_a,
    org_a,
    chain,
    no_dispatch,
    send_calls,
    django_capture_on_commit_callbacks,
    private_storage,
):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10000.00"), reason="test funds")
    text = "number\n" + "".join(f"0917{1000000 + i:07d}\n" for i in range(2500)) + "bad-number\n"
    bulk_id = bulk_id_of(upload(client_dev_a, text, body="Sale today!"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    assert response.status_code == 302
    assert [len(call["recipients"]) for call in send_calls] == [1000, 1000, 500]
    assert {call["channel"] for call in send_calls} == {MessageChannel.CSV}
    assert Message.objects.unscoped().filter(organization=org_a, channel="csv").count() == 2500
    assert set(Message.objects.unscoped().values_list("created_by", flat=True)) == {developer_a.pk}
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    assert (bulk.status, bulk.accepted, bulk.rejected, bulk.total_rows) == ("done", 2500, 1, 2501)
    assert not any(Path(private_storage).rglob("upload.csv"))  # the numbers are not kept on disk

    html = client_dev_a.get(reverse("messaging:bulk_progress", args=[bulk_id])).content.decode()
    assert 'id="bulk-accepted">2500<' in html and 'id="bulk-rejected">1<' in html
    assert "hx-trigger" not in html  # finished: polling stops

    # A second confirmation sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    assert Message.objects.unscoped().count() == 2500


def test_rows_with_their_own_message_are_sent_with_it(
    client_dev_a, org_a, chain, no_dispatch, django_capture_on_commit_callbacks
):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test funds")
    text = "phone,message\n09171234567,Hi Ana\n09181234567,\n09191234567,Hi Cy 🎉\n"
    bulk_id = bulk_id_of(upload(client_dev_a, text, body="Common"))
    with django_capture_on_commit_callbacks(execute=True):
        client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    bodies = dict(Message.objects.unscoped().values_list("recipient", "body"))
    assert bodies == {"+639171234567": "Hi Ana", "+639181234567": "Common", "+639191234567": "Hi Cy 🎉"}
    assert Message.objects.unscoped().get(recipient_hash=phone_lookup_hash("+639191234567")).encoding == "ucs2"


def test_progress_polls_while_running(client_dev_a, org_a, chain):
    bulk_id = bulk_id_of(upload(client_dev_a, "number\n09171234567\n", body="Hi"))
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    bulk.status = csv_import.BulkSendStatus.RUNNING
    csv_import._save(bulk)
    html = client_dev_a.get(reverse("messaging:bulk_detail", args=[bulk_id])).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert f'hx-get="{reverse("messaging:bulk_progress", args=[bulk_id])}"' in html


def test_credits_running_out_stops_and_reports_rows_not_sent(
    client_dev_a, org_a, chain, no_dispatch, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(csv_import, "CHUNK_SIZE", 2)
    price = message_price(organization=org_a, segments=1)
    credits_adjust(organization=org_a, actor=None, amount=price * 3, reason="test funds")
    text = "number\n" + "".join(f"0917{1000000 + i:07d}\n" for i in range(6))
    bulk_id = bulk_id_of(upload(client_dev_a, text, body="Hi"))
    with django_capture_on_commit_callbacks(execute=True):
        client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id)
    assert (bulk.status, bulk.accepted, bulk.not_sent) == ("failed", 2, 4)
    assert Message.objects.unscoped().count() == 2
    html = client_dev_a.get(reverse("messaging:bulk_detail", args=[bulk_id])).content.decode()
    assert 'id="bulk-error"' in html and 'id="bulk-not-sent">4<' in html


def test_other_organization_gets_404(client_dev_a, client_owner_b, org_a, chain, django_capture_on_commit_callbacks):
    bulk_id = bulk_id_of(upload(client_dev_a, "number\n09171234567\n", body="Hi"))
    assert client_owner_b.get(reverse("messaging:bulk_detail", args=[bulk_id])).status_code == 404
    assert client_owner_b.get(reverse("messaging:bulk_progress", args=[bulk_id])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client_owner_b.post(reverse("messaging:bulk_start", args=[bulk_id])).status_code == 404
    assert csv_import.bulk_send_get(organization=org_a, bulk_id=bulk_id).status == "validated"
    for unknown in ("short", "x" * 24):
        assert client_dev_a.get(reverse("messaging:bulk_detail", args=[unknown])).status_code == 404


def test_recipients_from_text_keeps_spaces_inside_numbers():
    assert csv_import.recipients_from_text(" 0917 123 4567,\n+639181234567;;\r\n") == [
        "0917 123 4567",
        "+639181234567",
    ]


def test_expired_uploads_and_reports_are_purged(client_dev_a, org_a, chain, private_storage):
    waiting = bulk_id_of(upload(client_dev_a, "number\n09171234567\n", body="Hi"))
    running = bulk_id_of(upload(client_dev_a, "number\n09171234567\n", body="Hi"))
    bulk = csv_import.bulk_send_get(organization=org_a, bulk_id=running)
    bulk.status = csv_import.BulkSendStatus.RUNNING
    csv_import._save(bulk)
    assert csv_import.bulk_send_purge_expired(now=timezone.now() + timedelta(hours=1)) == 0
    assert csv_import.bulk_send_purge_expired(now=timezone.now() + timedelta(hours=25)) == 1
    assert client_dev_a.get(reverse("messaging:bulk_detail", args=[waiting])).status_code == 404
    assert csv_import.bulk_send_get(organization=org_a, bulk_id=running).status == "running"


def test_a_suspended_organization_cannot_upload_or_confirm(client_dev_a, org_a, chain):
    bulk_id = bulk_id_of(upload(client_dev_a, "number\n09171234567\n", body="Hi"))
    organization_suspend(organization=org_a, actor=None, reason="Unpaid invoice")
    response = upload(client_dev_a, "number\n09181234567\n", body="Hi")
    assert response.status_code == 400 and "suspended" in response.content.decode().lower()
    response = client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]), follow=True)
    assert "suspended" in response.content.decode().lower()
    assert not Message.objects.unscoped().exists()
    org_a.status = "active"
    org_a.save(update_fields=["status"])
    # Refused before anything was marked, so the upload can still be confirmed once the organization is back.
    response = client_dev_a.post(reverse("messaging:bulk_start", args=[bulk_id]))
    assert response.status_code == 302
