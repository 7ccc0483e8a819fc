"""Semaphore's message `type` is stored on the message whatever path sent it, and the Semaphore list and get answer
the stored value: Single for one recipient, Bulk for several (native API included) or any CSV upload, Priority
for Semaphore's /priority endpoint."""

import pytest

from messaging.models import Message, MessageChannel, MessageType
from messaging.services.sending import message_send

pytestmark = pytest.mark.django_db


def _listed_types(anonymous, key) -> dict[int, str]:
    listed = anonymous.get("/api/v4/messages", {"apikey": key, "limit": 1000}).json()
    return {item["message_id"]: item["type"] for item in listed}


def test_every_path_stores_its_type_and_semaphore_answers_it(chain, funded_org_a, key_a, api_client_a, anonymous):
    single = anonymous.post("/api/v4/messages", {"apikey": key_a, "number": "09171234567", "message": "One"}).json()
    bulk = anonymous.post(
        "/api/v4/messages", {"apikey": key_a, "number": "09171234567,09181234567", "message": "Two"}
    ).json()
    priority = anonymous.post(
        "/api/v4/priority", {"apikey": key_a, "number": "09171234567,09181234567", "message": "Now"}
    ).json()
    native = api_client_a.post(
        "/api/v1/messages", {"to": ["09171234567", "09181234567"], "body": "Native bulk"}, format="json"
    )
    assert native.status_code == 201, native.content
    native_ids = [row["id"] for row in native.json()["results"]]
    [csv_one] = message_send(
        organization=funded_org_a, recipients=["09191234567"], body="From a file", channel=MessageChannel.CSV
    )
    iprog = anonymous.post("/api/v1/sms_messages", {"api_token": key_a, "phone_number": "09171234567", "message": "I"})
    assert iprog.json()["status"] == 200

    assert [item["type"] for item in single] == ["Single"]
    assert [item["type"] for item in bulk] == ["Bulk", "Bulk"]
    assert [item["type"] for item in priority] == ["Priority", "Priority"]
    stored = dict(Message.objects.for_organization(funded_org_a).values_list("id", "message_type"))
    assert stored[single[0]["message_id"]] == MessageType.SINGLE
    assert {stored[item["message_id"]] for item in bulk} == {MessageType.BULK}
    assert {stored[item["message_id"]] for item in priority} == {MessageType.PRIORITY}
    assert {stored[pk] for pk in native_ids} == {MessageType.BULK}
    assert stored[csv_one.pk] == MessageType.BULK

    listed = _listed_types(anonymous, key_a)
    assert listed[single[0]["message_id"]] == "Single"
    assert {listed[item["message_id"]] for item in priority} == {"Priority"}
    assert {listed[pk] for pk in native_ids} == {"Bulk"}
    assert listed[csv_one.pk] == "Bulk"
    [detail] = anonymous.get(f"/api/v4/messages/{priority[0]['message_id']}", {"apikey": key_a}).json()
    assert detail["type"] == "Priority"
