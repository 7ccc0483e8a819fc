"""IPROG SMS v1 under our host: each endpoint answers IPROG's documented shape (HTTP 200, `status` in the body),
for success and for each error; parameters by query string, form, JSON or multipart; another organization's
message id answers the not-found shape."""

import json
import re
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from messaging.compat.iprog import message_id_decode, message_id_encode
from messaging.models import Message, MessageChannel
from messaging.sender_names import sender_name_approve, sender_name_request
from portal.throttling import OrganizationRateThrottle

pytestmark = pytest.mark.django_db

MESSAGE_ID = re.compile(r"^iSms-[0-9A-Za-z]{6,}$")


def post_query(client, path, **params):
    """POST with every parameter in the query string and an empty body (IPROG's own curl example)."""
    return client.post(f"{path}?{urlencode(params)}")


def test_message_id_round_trips():
    for pk in (1, 61, 62, 12345, 2**40):
        encoded = message_id_encode(pk)
        assert MESSAGE_ID.match(encoded)
        assert message_id_decode(encoded) == pk
    assert message_id_decode("iSms-!!") is None
    assert message_id_decode("nope") is None


@pytest.mark.parametrize("encoding", ["query", "json", "form", "multipart"])
def test_send_one_in_every_encoding(chain, funded_org_a, key_a, anonymous, encoding):
    params = {"api_token": key_a, "phone_number": "639171234567", "message": "Hello from IPROG", "sms_provider": 2}
    if encoding == "query":
        response = post_query(anonymous, "/api/v1/sms_messages", **params)
    elif encoding == "json":
        response = anonymous.post("/api/v1/sms_messages", json.dumps(params), content_type="application/json")
    elif encoding == "form":
        response = anonymous.post("/api/v1/sms_messages", params)
    else:
        response = anonymous.post("/api/v1/sms_messages", params, format="multipart")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "message", "message_id"}
    assert body["status"] == 200
    assert body["message"].startswith("Your SMS message has been successfully added to the queue")
    assert MESSAGE_ID.match(body["message_id"])
    message = Message.objects.get(organization=funded_org_a, pk=message_id_decode(body["message_id"]))
    assert message.recipient == "+639171234567"
    assert message.channel == MessageChannel.API
    assert message.body == "Hello from IPROG"


def test_form_urlencoded_body(chain, funded_org_a, key_a, anonymous):
    response = anonymous.generic(
        "POST",
        "/api/v1/sms_messages/",
        f"api_token={key_a}&phone_number=09171234567&message=Hi+there",
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    assert response.status_code == 200
    assert response.json()["status"] == 200


def test_query_string_wins_over_body(chain, funded_org_a, key_a, anonymous):
    response = anonymous.post(
        f"/api/v1/sms_messages?api_token={key_a}&message=From+query",
        json.dumps({"phone_number": "+639171234567", "message": "From body"}),
        content_type="application/json",
    )
    message_id = message_id_decode(response.json()["message_id"])
    assert Message.objects.get(organization=funded_org_a, pk=message_id).body == "From query"


@pytest.mark.parametrize("token", [None, "not-a-key"])
def test_bad_or_missing_token_is_200_with_status_500(chain, funded_org_a, anonymous, token):
    params = {"phone_number": "09171234567", "message": "Hi"}
    if token:
        params["api_token"] = token
    response = anonymous.post("/api/v1/sms_messages", params)
    assert response.status_code == 200
    assert response.json() == {"status": 500, "message": "Invalid Token"}


def test_missing_fields_answer_a_list_of_messages(chain, funded_org_a, key_a, anonymous):
    response = anonymous.post("/api/v1/sms_messages", {"api_token": key_a})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 500
    assert isinstance(body["message"], list) and all(isinstance(m, str) for m in body["message"])
    assert len(body["message"]) == 2


def test_invalid_number_and_no_credits(chain, org_a, funded_org_b, key_a, key_b, anonymous):
    bad = anonymous.post("/api/v1/sms_messages", {"api_token": key_b, "phone_number": "12345", "message": "Hi"})
    assert bad.status_code == 200
    assert bad.json()["status"] == 500 and isinstance(bad.json()["message"], str)
    broke = anonymous.post("/api/v1/sms_messages", {"api_token": key_a, "phone_number": "09171234567", "message": "Hi"})
    assert broke.json()["status"] == 500
    assert not Message.objects.filter(organization=org_a).exists()


def test_sender_name_must_be_approved(chain, funded_org_a, key_a, anonymous):
    params = {"api_token": key_a, "phone_number": "09171234567", "message": "Hi", "sender_name": "MYSHOP"}
    refused = anonymous.post("/api/v1/sms_messages", params)
    assert refused.json()["status"] == 500
    assert "not approved" in refused.json()["message"]
    sender_name_approve(sender_name=sender_name_request(organization=funded_org_a, name="MYSHOP"), actor=None)
    accepted = anonymous.post("/api/v1/sms_messages", params)
    assert accepted.json()["status"] == 200
    message = Message.objects.get(organization=funded_org_a, pk=message_id_decode(accepted.json()["message_id"]))
    assert message.requested_sender_name == "MYSHOP"


def test_send_bulk_answers_one_comma_separated_string(chain, funded_org_a, key_a, anonymous):
    response = post_query(
        anonymous,
        "/api/v1/sms_messages/send_bulk",
        api_token=key_a,
        phone_number="639171234567,09181234567, +639191234567,",
        message="Bulk hello",
    )
    body = response.json()
    assert set(body) == {"status", "message", "message_ids"}
    assert body["status"] == 200
    assert body["message"].startswith("Your bulk SMS messages have been successfully added")
    ids = body["message_ids"].split(",")
    assert len(ids) == 3 and all(MESSAGE_ID.match(i) for i in ids)
    recipients = [Message.objects.get(organization=funded_org_a, pk=message_id_decode(i)).recipient for i in ids]
    assert recipients == ["+639171234567", "+639181234567", "+639191234567"]
    by_get = anonymous.get(
        "/api/v1/sms_messages/send_bulk", {"api_token": key_a, "phone_number": "09171234567", "message": "Hi"}
    )
    assert by_get.json()["status"] == 200


def test_status_and_other_organizations_id(chain, funded_org_a, funded_org_b, key_a, key_b, anonymous):
    sent = anonymous.post("/api/v1/sms_messages", {"api_token": key_a, "phone_number": "09171234567", "message": "Hi"})
    message_id = sent.json()["message_id"]
    response = anonymous.get("/api/v1/sms_messages/status", {"api_token": key_a, "message_id": message_id})
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == 200
    assert body["message_status"] in {"pending", "sent", "delivered", "failed"}
    assert isinstance(body["delivery_status"], str)
    assert "failure_reason" in body
    for other in (
        {"api_token": key_b, "message_id": message_id},
        {"api_token": key_a, "message_id": "iSms-zzzzzzzz"},
        {"api_token": key_a, "message_id": "garbage"},
    ):
        not_found = anonymous.get("/api/v1/sms_messages/status", other)
        assert not_found.status_code == 200
        assert not_found.json() == {"status": 404, "message": "Message not found."}


def test_sms_credits_exact_shape(funded_org_a, key_a, anonymous):
    response = anonymous.get("/api/v1/account/sms_credits", {"api_token": key_a})
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "Account found.", "data": {"load_balance": 10000}}
    bad = anonymous.get("/api/v1/account/sms_credits/", {"api_token": "wrong"})
    assert bad.status_code == 200
    assert bad.json() == {"status": "error", "message": "Account not found."}


def test_otp_send_and_verify(chain, funded_org_a, key_a, anonymous, monkeypatch):
    monkeypatch.setattr("messaging.services.otp.secrets.randbelow", lambda bound: 123456)
    sent = anonymous.post(
        "/api/v1/otp/send_otp",
        json.dumps(
            {"api_token": key_a, "phone_number": "09171234567", "message": "Code :otp", "expires_in_minutes": 5}
        ),
        content_type="application/json",
    )
    body = sent.json()
    assert sent.status_code == 200
    assert body["status"] == "success" and isinstance(body["message"], str)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$", body["data"]["otp_code_expires_at"])
    message = Message.objects.filter(organization=funded_org_a).latest("id")
    assert message.channel == MessageChannel.OTP and "123456" not in message.body
    wrong = anonymous.post("/api/v1/otp/verify_otp", {"api_token": key_a, "phone_number": "09171234567", "otp": "1"})
    assert wrong.status_code == 200 and wrong.json()["status"] == "error"
    right = anonymous.post(
        "/api/v1/otp/verify_otp/", {"api_token": key_a, "phone_number": "+639171234567", "otp": "123456"}
    )
    assert right.json() == {"status": "success", "message": "OTP verified successfully."}
    bad_key = anonymous.post("/api/v1/otp/send_otp", {"api_token": "x", "phone_number": "09171234567"})
    assert bad_key.json()["status"] == "error"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/sms_messages", "/api/v1/sms_messages/", "/api/v1/account/sms_credits", "/api/v1/account/sms_credits/"],
)
def test_paths_with_and_without_slash_answer_directly(funded_org_a, key_a, anonymous, path):
    response = anonymous.generic("POST" if "sms_messages" in path else "GET", f"{path}?api_token={key_a}")
    assert response.status_code == 200
    assert "Location" not in response.headers


def test_rate_limited_like_the_native_api(funded_org_a, key_a, anonymous, monkeypatch):
    cache.clear()
    monkeypatch.setattr(OrganizationRateThrottle, "THROTTLE_RATES", {"organization": "2/min"})
    for _ in range(2):
        assert anonymous.get("/api/v1/account/sms_credits", {"api_token": key_a}).status_code == 200
    limited = anonymous.get("/api/v1/account/sms_credits", {"api_token": key_a})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    cache.clear()
