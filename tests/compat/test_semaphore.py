"""Semaphore v4 under our host: each endpoint answers Semaphore's documented shape (field names and types), for
success and for each error; another organization's message id answers `[]`."""

import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache

from billing.services import credits_adjust
from messaging.models import Message, MessageChannel
from messaging.sender_names import sender_name_approve, sender_name_request
from portal.throttling import OrganizationRateThrottle

pytestmark = pytest.mark.django_db

MESSAGE_FIELDS = {
    "message_id": int,
    "user_id": int,
    "user": str,
    "account_id": int,
    "account": str,
    "recipient": str,
    "message": str,
    "sender_name": str,
    "network": str,
    "status": str,
    "type": str,
    "source": str,
    "created_at": str,
    "updated_at": str,
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
TIMESTAMP_12H = re.compile(r"^\d{4}-\d\d-\d\d \d{1,2}:\d\d (am|pm)$")


def assert_message_object(item: dict, *, extra: dict | None = None) -> None:
    expected = {**MESSAGE_FIELDS, **(extra or {})}
    assert set(item) == set(expected)
    for name, kind in expected.items():
        assert isinstance(item[name], kind), (name, item[name])
    assert re.match(r"^639\d{9}$", item["recipient"])
    assert TIMESTAMP.match(item["created_at"]) and TIMESTAMP.match(item["updated_at"])
    assert item["status"] in {"Queued", "Pending", "Sent", "Failed", "Refunded"}
    assert item["source"] == "Api"


def send(client, key, **params):
    return client.post("/api/v4/messages", {"apikey": key, **params})


def test_send_answers_one_object_per_recipient_in_order(chain, funded_org_a, developer_a, key_a, anonymous):
    response = send(anonymous, key_a, number="09171234567, +639181234567,639191234567,", message="Hello")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 3
    for item in body:
        assert_message_object(item)
        assert item["type"] == "Bulk"
        assert item["status"] == "Pending"
        assert item["account_id"] == funded_org_a.pk and item["account"] == funded_org_a.name
        assert item["user"] == developer_a.email
    assert [item["recipient"] for item in body] == ["639171234567", "639181234567", "639191234567"]
    assert body[0]["network"] == "Globe"
    single = send(anonymous, key_a, number="09181234567", message="Hi").json()
    assert single[0]["type"] == "Single" and single[0]["network"] == "Smart"


def test_apikey_in_query_beside_a_json_body(chain, funded_org_a, key_a, anonymous):
    response = anonymous.post(
        f"/api/v4/messages/?apikey={key_a}",
        json.dumps({"number": "09171234567", "message": "JSON body"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()[0]["message"] == "JSON body"


def test_query_string_only_post(chain, funded_org_a, key_a, anonymous):
    response = anonymous.post(f"/api/v4/messages?apikey={key_a}&number=09171234567&message=Query+only")
    assert response.json()[0]["message"] == "Query only"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"apikey": ["The apikey field is required."]}),
        ({"apikey": "wrong"}, {"apikey": ["The selected apikey is invalid."]}),
    ],
)
@pytest.mark.parametrize("path", ["/api/v4/messages", "/api/v4/account", "/api/v4/account/sendernames/"])
def test_missing_or_wrong_apikey_is_200_with_field_errors(funded_org_a, anonymous, params, expected, path):
    response = anonymous.get(path, params)
    assert response.status_code == 200
    assert response.json() == expected


def test_validation_errors_are_field_keyed_laravel_texts(chain, funded_org_a, key_a, anonymous):
    assert send(anonymous, key_a, number="12345", message="Hi").json() == {"number": ["The number format is invalid."]}
    both = send(anonymous, key_a).json()
    assert both == {"number": ["The number field is required."], "message": ["The message field is required."]}
    sender = send(anonymous, key_a, number="09171234567", message="Hi", sendername="NOPE").json()
    assert sender == {"sendername": ["The selected sendername is invalid."]}
    assert not Message.objects.filter(organization=funded_org_a).exists()


def test_approved_sendername_is_used(chain, funded_org_a, key_a, anonymous):
    sender_name_approve(sender_name=sender_name_request(organization=funded_org_a, name="MYSHOP"), actor=None)
    body = send(anonymous, key_a, number="09171234567", message="Hi", sendername="MYSHOP").json()
    message = Message.objects.get(organization=funded_org_a, pk=body[0]["message_id"])
    assert message.requested_sender_name == "MYSHOP"


def test_not_enough_credits_is_500_with_an_array_of_one_string(chain, org_a, key_a, anonymous):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("1"), reason="test")
    response = send(anonymous, key_a, number="09171234567,09181234567,09191234567", message="Hi")
    assert response.status_code == 500
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and isinstance(body[0], str)
    assert re.match(r"^Your current balance of [\d.]+ credits is not sufficient\. This transaction requires", body[0])


def test_priority_and_otp(chain, funded_org_a, key_a, anonymous):
    priority = anonymous.post("/api/v4/priority/", {"apikey": key_a, "number": "09171234567", "message": "Now"})
    assert priority.status_code == 200
    assert_message_object(priority.json()[0])
    assert priority.json()[0]["type"] == "Priority"
    otp = anonymous.post(
        "/api/v4/otp", {"apikey": key_a, "number": "09171234567", "message": "Your code is {otp}.", "code": "004321"}
    )
    [item] = otp.json()
    assert_message_object(item, extra={"code": int})
    assert item["code"] == 4321 and item["message"] == "Your code is 004321."
    stored = Message.objects.get(organization=funded_org_a, pk=item["message_id"])
    assert stored.channel == MessageChannel.OTP and "004321" not in stored.body
    generated = anonymous.post("/api/v4/otp", {"apikey": key_a, "number": "09171234567"}).json()[0]
    assert 0 <= generated["code"] < 10**6
    assert generated["message"].startswith("Thanks for registering. Your One Time Password is ")


def test_list_filters_detail_and_other_organizations_ids(chain, funded_org_a, funded_org_b, key_a, key_b, anonymous):
    sent = send(anonymous, key_a, number="09171234567,09181234567", message="Listed").json()
    other = send(anonymous, key_b, number="09171234567", message="Theirs").json()
    listed = anonymous.get("/api/v4/messages/", {"apikey": key_a, "limit": 1000}).json()
    assert {item["message_id"] for item in listed} == {item["message_id"] for item in sent}
    for item in listed:
        assert_message_object(item)
    globe = anonymous.get("/api/v4/messages", {"apikey": key_a, "network": "globe"}).json()
    assert [item["recipient"] for item in globe] == ["639171234567"]
    paged = anonymous.get("/api/v4/messages", {"apikey": key_a, "limit": 1, "page": 2}).json()
    assert len(paged) == 1
    assert anonymous.get("/api/v4/messages", {"apikey": key_a, "page": 5}).json() == []
    assert anonymous.get("/api/v4/messages", {"apikey": key_a, "status": "nonsense"}).json() == []
    dated = anonymous.get("/api/v4/messages", {"apikey": key_a, "startDate": "2000-01-01", "endDate": "2000-01-02"})
    assert dated.json() == []
    detail = anonymous.get(f"/api/v4/messages/{sent[0]['message_id']}", {"apikey": key_a})
    assert [item["message_id"] for item in detail.json()] == [sent[0]["message_id"]]
    foreign = anonymous.get(f"/api/v4/messages/{other[0]['message_id']}/", {"apikey": key_a})
    assert foreign.status_code == 404 and foreign.json() == []
    assert anonymous.get("/api/v4/messages/999999999", {"apikey": key_a}).json() == []


def test_account_endpoints_shapes(chain, funded_org_a, owner_a, developer_a, key_a, anonymous):
    account = anonymous.get("/api/v4/account", {"apikey": key_a}).json()
    assert account == {
        "account_id": funded_org_a.pk,
        "account_name": funded_org_a.name,
        "status": "Active",
        "credit_balance": 10000,
    }
    send(anonymous, key_a, number="09171234567", message="Charge me")
    transactions = anonymous.get("/api/v4/account/transactions", {"apikey": key_a}).json()
    assert len(transactions) >= 2
    for entry in transactions:
        assert set(entry) == {
            "id",
            "user_id",
            "user",
            "status",
            "transaction_method",
            "external_transaction_id",
            "amount",
            "credit_value",
            "created_at",
            "updated_at",
        }
        assert isinstance(entry["id"], int) and isinstance(entry["amount"], str)
        assert isinstance(entry["credit_value"], str) and TIMESTAMP_12H.match(entry["created_at"])
    assert transactions[0]["transaction_method"] == "Message" and transactions[0]["external_transaction_id"]
    sender_name_request(organization=funded_org_a, name="MYSHOP")
    names = anonymous.get("/api/v4/account/sendernames", {"apikey": key_a}).json()
    assert [(n["name"], n["status"]) for n in names] == [("MYSHOP", "Pending")]
    assert set(names[0]) == {"name", "status", "created"} and TIMESTAMP_12H.match(names[0]["created"])
    users = anonymous.get("/api/v4/account/users/", {"apikey": key_a}).json()
    assert {u["email"] for u in users} == {owner_a.email, developer_a.email}
    assert all(set(u) == {"user_id", "email", "role", "status"} and isinstance(u["user_id"], int) for u in users)


def test_throttled_answers_laravel_429(funded_org_a, key_a, anonymous, monkeypatch):
    cache.clear()
    monkeypatch.setattr(OrganizationRateThrottle, "THROTTLE_RATES", {"organization": "1/min"})
    assert anonymous.get("/api/v4/account", {"apikey": key_a}).status_code == 200
    limited = anonymous.get("/api/v4/account", {"apikey": key_a})
    assert limited.status_code == 429
    assert limited.content == b"Too Many Attempts."
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["X-RateLimit-Limit"] == "1" and limited.headers["X-RateLimit-Remaining"] == "0"
    cache.clear()
