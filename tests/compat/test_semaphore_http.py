"""Semaphore v4 over real HTTP: a live server and `requests` calls written as Semaphore's documentation shows them
(`curl --data`, the key in the query string beside a JSON body, a POST whose parameters are all in the query
string, multipart; 09 and 639 numbers; paths with and without the trailing slash, redirects off). Every answer is
checked field by field, types included; another organization's id answers 404 with Semaphore's empty list."""

from decimal import Decimal

import pytest

from accounts.roles import Scope
from accounts.services import api_key_create
from billing.services import credits_adjust
from messaging.sender_names import sender_name_request
from tests.compat.http_clients import SEMAPHORE_TIMESTAMP_12H, assert_semaphore_message, assert_types, multipart

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("encoding", ["form", "query", "json_key_in_query", "multipart"])
def test_send_in_every_encoding(http, chain, funded_org_a, developer_a, key_a, encoding):
    fields = {"number": "09171234567,639181234567", "message": "Hello from Semaphore"}
    if encoding == "form":
        response = http.post("/api/v4/messages", data={"apikey": key_a, **fields})
    elif encoding == "query":
        response = http.post("/api/v4/messages", params={"apikey": key_a, **fields})
        assert response.request.body in (None, b"", "")
    elif encoding == "json_key_in_query":
        response = http.post("/api/v4/messages", params={"apikey": key_a}, json=fields)
    else:
        response = http.post("/api/v4/messages/", files=multipart({"apikey": key_a, **fields}))
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 2
    for item in body:
        assert_semaphore_message(item)
        assert item["status"] == "Pending"
        assert item["account_id"] == funded_org_a.pk and item["user"] == developer_a.email
    assert [item["recipient"] for item in body] == ["639171234567", "639181234567"]
    assert [item["network"] for item in body] == ["Globe", "Smart"]


@pytest.mark.parametrize("path", ["/api/v4/account", "/api/v4/account/"])
def test_account_exact_shape_with_and_without_slash(http, funded_org_a, key_a, path):
    response = http.get(path, params={"apikey": key_a})
    assert response.status_code == 200
    assert response.json() == {
        "account_id": funded_org_a.pk,
        "account_name": funded_org_a.name,
        "status": "Active",
        "credit_balance": 10000,
    }


def test_priority_and_otp(http, chain, funded_org_a, key_a):
    priority = http.post("/api/v4/priority/", data={"apikey": key_a, "number": "09171234567", "message": "Now"})
    assert priority.status_code == 200
    [item] = priority.json()
    assert_semaphore_message(item)
    otp = http.post("/api/v4/otp", data={"apikey": key_a, "number": "09171234567", "message": "Code {otp}"})
    assert otp.status_code == 200
    [code] = otp.json()
    assert_semaphore_message(code, extra={"code": int})
    assert code["message"] == f"Code {code['code']:06d}" or code["message"] == f"Code {code['code']}"


def test_list_detail_and_other_organizations_id(http, chain, funded_org_a, funded_org_b, key_a, key_b):
    ours = http.post("/api/v4/messages", data={"apikey": key_a, "number": "09171234567", "message": "Ours"}).json()
    theirs = http.post("/api/v4/messages", data={"apikey": key_b, "number": "09171234567", "message": "X"}).json()
    listed = http.get("/api/v4/messages", params={"apikey": key_a, "limit": 100, "page": 1})
    assert listed.status_code == 200
    assert [item["message_id"] for item in listed.json()] == [ours[0]["message_id"]]
    for item in listed.json():
        assert_semaphore_message(item)
    detail = http.get(f"/api/v4/messages/{ours[0]['message_id']}", params={"apikey": key_a})
    assert detail.status_code == 200
    [item] = detail.json()
    assert_semaphore_message(item)
    assert item["message_id"] == ours[0]["message_id"]
    for path in (f"/api/v4/messages/{theirs[0]['message_id']}", f"/api/v4/messages/{theirs[0]['message_id']}/"):
        foreign = http.get(path, params={"apikey": key_a})
        assert foreign.status_code == 404 and foreign.json() == []
    assert http.get("/api/v4/messages/999999999", params={"apikey": key_a}).status_code == 404


def test_account_lists_shapes(http, chain, funded_org_a, owner_a, developer_a, key_a):
    http.post("/api/v4/messages", data={"apikey": key_a, "number": "09171234567", "message": "Charge me"})
    transactions = http.get("/api/v4/account/transactions", params={"apikey": key_a}).json()
    assert len(transactions) >= 2
    for entry in transactions:
        assert_types(
            entry,
            {
                "id": int,
                "user_id": int,
                "user": str,
                "status": str,
                "transaction_method": str,
                "external_transaction_id": str,
                "amount": str,
                "credit_value": str,
                "created_at": str,
                "updated_at": str,
            },
        )
        assert SEMAPHORE_TIMESTAMP_12H.match(entry["created_at"])
    sender_name_request(organization=funded_org_a, name="MYSHOP")
    names = http.get("/api/v4/account/sendernames/", params={"apikey": key_a}).json()
    assert len(names) == 1
    assert_types(names[0], {"name": str, "status": str, "created": str})
    assert (names[0]["name"], names[0]["status"]) == ("MYSHOP", "Pending")
    users = http.get("/api/v4/account/users", params={"apikey": key_a}).json()
    assert {u["email"] for u in users} == {owner_a.email, developer_a.email}
    for user in users:
        assert_types(user, {"user_id": int, "email": str, "role": str, "status": str})


def test_error_answers(http, chain, org_a, funded_org_b, key_a):
    missing = http.post("/api/v4/messages", data={"number": "09171234567", "message": "x"})
    assert missing.status_code == 200 and missing.json() == {"apikey": ["The apikey field is required."]}
    invalid = http.get("/api/v4/account", params={"apikey": "nope"})
    assert invalid.status_code == 200 and invalid.json() == {"apikey": ["The selected apikey is invalid."]}
    fields = http.post("/api/v4/messages", json={"apikey": key_a, "number": "12345"})
    assert fields.status_code == 200
    assert fields.json() == {
        "number": ["The number format is invalid."],
        "message": ["The message field is required."],
    }
    sender = http.post(
        "/api/v4/messages", data={"apikey": key_a, "number": "09171234567", "message": "x", "sendername": "NOTMINE"}
    )
    assert sender.json() == {"sendername": ["The selected sendername is invalid."]}
    # org_a has no credits.
    broke = http.post("/api/v4/messages", data={"apikey": key_a, "number": "09171234567", "message": "x"})
    assert broke.status_code == 500
    [text] = broke.json()
    assert isinstance(text, str) and text.startswith("Your current balance of 0 credits is not sufficient.")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("5"), reason="test")
    assert http.post("/api/v4/messages", data={"apikey": key_a, "number": "09171234567", "message": "x"}).ok


def test_key_without_the_scope_is_refused_with_403(http, chain, funded_org_a, developer_a):
    _, sender = api_key_create(organization=funded_org_a, actor=developer_a, name="sender", scopes=[Scope.SEND])
    assert http.post("/api/v4/messages", data={"apikey": sender, "number": "09171234567", "message": "x"}).ok
    refusals = (("/api/v4/messages", "read"), ("/api/v4/account", "billing"), ("/api/v4/account/users", "admin"))
    for path, scope in refusals:
        refused = http.get(path, params={"apikey": sender})
        assert refused.status_code == 403
        assert_types(refused.json(), {"apikey": list})
        [text] = refused.json()["apikey"]
        assert f"`{scope}` scope" in text
