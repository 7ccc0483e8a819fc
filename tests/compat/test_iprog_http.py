"""IPROG SMS v1 over real HTTP: a live server and `requests` calls written as IPROG's documentation shows them
(parameters in the query string of a POST with an empty body, JSON, form or multipart; 639 and 09 numbers; paths
with and without the trailing slash, redirects off). Every answer is checked field by field, types included."""

import pytest

from accounts.roles import Scope
from accounts.services import api_key_create
from messaging.compat.iprog import message_id_decode
from messaging.models import Message
from messaging.sender_names import sender_name_approve, sender_name_request
from tests.compat.http_clients import IPROG_MESSAGE_ID, assert_types, multipart

pytestmark = pytest.mark.django_db(transaction=True)

SEND_OK = {"status": int, "message": str, "message_id": str}
STATUS_OK = {
    "status": int,
    "message_status": str,
    "message_id": str,
    "phone_number": str,
    "delivery_status": str,
    "failure_reason": (str, type(None)),
}


def _send(http, key, encoding, path="/api/v1/sms_messages", **fields):
    params = {"api_token": key, **fields}
    if encoding == "query":
        response = http.post(path, params=params)
        assert response.request.body in (None, b"", "")
        return response
    if encoding == "json":
        return http.post(path, json=params)
    if encoding == "form":
        return http.post(path, data=params)
    return http.post(path, files=multipart(params))


@pytest.mark.parametrize("encoding", ["query", "json", "form", "multipart"])
@pytest.mark.parametrize("number", ["639171234567", "09171234567"])
def test_send_one_in_every_encoding(http, chain, funded_org_a, key_a, encoding, number):
    response = _send(http, key_a, encoding, phone_number=number, message="Hello from IPROG", sms_provider=1)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert_types(body, SEND_OK)
    assert body["status"] == 200
    assert body["message"].startswith("Your SMS message has been successfully added to the queue")
    assert IPROG_MESSAGE_ID.match(body["message_id"])
    message = Message.objects.for_organization(funded_org_a).get(pk=message_id_decode(body["message_id"]))
    assert message.recipient == "+639171234567" and message.body == "Hello from IPROG"


@pytest.mark.parametrize("path", ["/api/v1/sms_messages", "/api/v1/sms_messages/"])
def test_trailing_slash_or_none_answers_without_redirect(http, chain, funded_org_a, key_a, path):
    response = _send(http, key_a, "query", path=path, phone_number="09171234567", message="Slash")
    assert response.status_code == 200 and response.json()["status"] == 200


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_send_bulk_answers_one_comma_separated_string(http, chain, funded_org_a, key_a, method):
    params = {"api_token": key_a, "phone_number": "639171234567,09181234567", "message": "Bulk hello"}
    path = "/api/v1/sms_messages/send_bulk" + ("/" if method == "GET" else "")
    response = http.request(method, path, params=params)
    body = response.json()
    assert response.status_code == 200
    assert_types(body, {"status": int, "message": str, "message_ids": str})
    assert body["status"] == 200
    ids = body["message_ids"].split(",")
    assert len(ids) == 2 and all(IPROG_MESSAGE_ID.match(message_id) for message_id in ids)


def test_status_exact_shape_and_other_organizations_id(http, chain, funded_org_a, funded_org_b, key_a, key_b):
    sent = _send(http, key_a, "json", phone_number="09171234567", message="Track me").json()
    response = http.get("/api/v1/sms_messages/status", params={"api_token": key_a, "message_id": sent["message_id"]})
    body = response.json()
    assert response.status_code == 200
    assert_types(body, STATUS_OK)
    assert body["status"] == 200 and body["message_id"] == sent["message_id"]
    assert body["phone_number"] == "639171234567"
    assert body["message_status"] in {"pending", "sent", "delivered", "failed"}
    # Another organization's id, an unknown one and garbage: the same not-found answer (IPROG's 404 shape).
    for params in (
        {"api_token": key_b, "message_id": sent["message_id"]},
        {"api_token": key_a, "message_id": "iSms-zzzzzzzz"},
        {"api_token": key_a, "message_id": "garbage"},
    ):
        not_found = http.get("/api/v1/sms_messages/status/", params=params)
        assert not_found.status_code == 200
        assert not_found.json() == {"status": 404, "message": "Message not found."}


def test_credits_exact_shape(http, funded_org_a, key_a):
    for path in ("/api/v1/account/sms_credits", "/api/v1/account/sms_credits/"):
        response = http.get(path, params={"api_token": key_a})
        assert response.status_code == 200
        assert response.json() == {"status": "success", "message": "Account found.", "data": {"load_balance": 10000}}
    bad = http.get("/api/v1/account/sms_credits", params={"api_token": "not-a-key"})
    assert bad.status_code == 200 and bad.json() == {"status": "error", "message": "Account not found."}


def test_otp_send_and_verify_shapes(http, chain, funded_org_a, key_a, monkeypatch):
    monkeypatch.setattr("messaging.services.otp.secrets.randbelow", lambda bound: 654321)
    sent = http.post(
        "/api/v1/otp/send_otp",
        json={"api_token": key_a, "phone_number": "639171234567", "message": "Your code is :otp"},
    )
    body = sent.json()
    assert sent.status_code == 200
    assert_types(body, {"status": str, "message": str, "data": dict})
    assert body["status"] == "success"
    assert_types(body["data"], {"phone_number": str, "otp_code_expires_at": str})
    assert body["data"]["phone_number"] == "639171234567"
    wrong = http.post(
        "/api/v1/otp/verify_otp", params={"api_token": key_a, "phone_number": "09171234567", "otp": "000000"}
    )
    assert wrong.status_code == 200 and wrong.json() == {"status": "error", "message": "Invalid or expired OTP."}
    right = http.post(
        "/api/v1/otp/verify_otp/", data={"api_token": key_a, "phone_number": "09171234567", "otp": "654321"}
    )
    assert right.json() == {"status": "success", "message": "OTP verified successfully."}
    blank = http.post("/api/v1/otp/send_otp", json={"api_token": key_a})
    assert blank.status_code == 200 and blank.json() == {"status": "error", "message": "Phone number can't be blank"}


def test_error_answers(http, chain, funded_org_a, key_a):
    for params in ({"api_token": "wrong"}, {}):
        bad = http.post("/api/v1/sms_messages", params={**params, "phone_number": "09171234567", "message": "x"})
        assert bad.status_code == 200 and bad.json() == {"status": 500, "message": "Invalid Token"}
    missing = http.post("/api/v1/sms_messages", json={"api_token": key_a})
    assert missing.status_code == 200
    assert missing.json() == {"status": 500, "message": ["Phone number can't be blank", "Message can't be blank"]}
    invalid = http.post("/api/v1/sms_messages", json={"api_token": key_a, "phone_number": "12345", "message": "x"})
    assert invalid.status_code == 200
    assert_types(invalid.json(), {"status": int, "message": str})
    assert invalid.json()["status"] == 500
    unapproved = http.post(
        "/api/v1/sms_messages",
        json={"api_token": key_a, "phone_number": "09171234567", "message": "x", "sender_name": "NOTMINE"},
    )
    assert unapproved.json()["status"] == 500 and "NOTMINE" in unapproved.json()["message"]
    approved = sender_name_request(organization=funded_org_a, name="ALPHA")
    sender_name_approve(sender_name=approved, actor=None)
    ok = http.post(
        "/api/v1/sms_messages",
        json={"api_token": key_a, "phone_number": "09171234567", "message": "x", "sender_name": "ALPHA"},
    )
    assert ok.json()["status"] == 200
    assert Message.objects.for_organization(funded_org_a).latest("id").requested_sender_name == "ALPHA"


def test_key_without_the_scope_is_refused_in_iprogs_shape(http, chain, funded_org_a, developer_a):
    _, read_only = api_key_create(organization=funded_org_a, actor=developer_a, name="reader", scopes=[Scope.READ])
    refused = http.post("/api/v1/sms_messages", params={"api_token": read_only, "phone_number": "09171234567"})
    assert refused.status_code == 200
    assert_types(refused.json(), {"status": int, "message": str})
    assert refused.json()["status"] == 403 and "`send` scope" in refused.json()["message"]
    credits = http.get("/api/v1/account/sms_credits", params={"api_token": read_only})
    assert credits.json()["status"] == "error" and "`billing` scope" in credits.json()["message"]
    assert not Message.objects.for_organization(funded_org_a).exists()
