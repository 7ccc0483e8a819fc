"""Examples of the messaging API for the OpenAPI reference: for each operation a request as an integrator would make
it (curl, with the key from the API keys page) and the answer it gets. Values are those of a real run, shortened."""

from drf_spectacular.utils import OpenApiExample

BASE = "https://sms.example.com/api/v1"
AUTH = '-H "Authorization: Bearer $SMS_API_KEY"'

MESSAGE = {
    "id": 1042,
    "to": "+639171234567",
    "sender_name": "ACME",
    "body": "Your order #1042 has shipped.",
    "encoding": "gsm7",
    "segments": 1,
    "price": "1.00",
    "status": "sent",
    "provider": "IPROGSMS",
    "network": "globe",
    "channel": "api",
    "created_at": "2026-11-29T23:25:37.414437Z",
    "send_at": None,
    "sent_at": "2026-11-29T23:25:37.534143Z",
    "delivered_at": None,
    "failed_at": None,
    "cancelled_at": None,
    "error": None,
}
QUEUED = {**MESSAGE, "status": "queued", "provider": None, "sent_at": None}
DELIVERY = {
    "id": 77,
    "event": "message.delivered",
    "message_id": 1042,
    "status": "delivered",
    "attempts": 1,
    "last_status_code": 200,
    "last_error": "",
    "next_attempt_at": None,
    "created_at": "2026-11-30T07:25:40.129365+08:00",
    "delivered_at": "2026-11-30T07:25:40.301000+08:00",
    "payload": {
        "event": "message.delivered",
        "occurred_at": "2026-11-29T23:25:40.129044+00:00",
        "data": {"id": 1042, "to": "+639171234567", "status": "delivered"},
    },
}
SENDER_NAME = {
    "name": "ACME",
    "status": "pending",
    "is_default": False,
    "purpose": "Order updates",
    "reason": "",
    "created_at": "2026-11-29T23:25:38.832685+00:00",
    "reviewed_at": None,
}


def request(name: str, curl: str, value=None) -> OpenApiExample:
    """The request: a curl line, and the JSON body when there is one."""
    return OpenApiExample(name, value=value, request_only=True, description=f"`curl {curl}`")


def answer(name: str, value, *, status: str = "200", curl: str = "") -> OpenApiExample:
    """The answer (and, for a GET, the curl line that asks for it)."""
    description = f"Request: `curl {curl}`" if curl else ""
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status], description=description)


def answer_to(curl: str, name: str, value, *, status: str = "200") -> OpenApiExample:
    """The answer to a request without a body (its curl line goes with the answer: there is no request body to show)."""
    return answer(name, value, status=status, curl=curl)


# A DELETE answers 204 without a body; its example is the not-found answer, in the shared error shape.
NOT_FOUND = {"error": {"code": "not_found", "message": "Not found.", "details": {}}}


EXAMPLES: dict[str, list[OpenApiExample]] = {
    "messages_list": [
        answer(
            "Sent messages to one number",
            {"results": [MESSAGE], "next": None, "next_cursor": None},
            curl=f'{AUTH} "{BASE}/messages?status=sent&to=09171234567&page_size=50"',
        )
    ],
    "messages_send": [
        request(
            "Send one text to two numbers",
            f'{AUTH} -H "Idempotency-Key: order-1042" --json @message.json {BASE}/messages',
            {"to": ["09171234567", "+639181234567"], "body": "Your order #1042 has shipped.", "sender_name": "ACME"},
        ),
        answer(
            "Queued, one result per recipient",
            {"results": [QUEUED, {**QUEUED, "id": 1043, "to": "+639181234567", "network": "smart"}]},
            status="201",
        ),
    ],
    "messages_get": [answer("A sent message", MESSAGE, curl=f"{AUTH} {BASE}/messages/1042")],
    "messages_cancel": [
        answer_to(
            f"{AUTH} -X POST {BASE}/messages/1044/cancel",
            "Cancelled and refunded",
            {
                **QUEUED,
                "id": 1044,
                "status": "cancelled",
                "send_at": "2026-12-01T01:00:00Z",
                "cancelled_at": "2026-11-29T23:30:00Z",
            },
        ),
    ],
    "messages_explain": [
        request(
            "Which route would take this text",
            f'{AUTH} --json \'{{"to": "09171234567", "body": "Hello"}}\' {BASE}/messages/explain',
            {"to": "09171234567", "body": "Hello"},
        ),
        answer(
            "The primary route takes it",
            {
                "to": "+639171234567",
                "network": "globe",
                "provider": "IPROGSMS",
                "sender_name": "IPROGSMS",
                "encoding": "gsm7",
                "segments": 1,
                "price": "1.00",
                "reason": "primary route",
                "is_fallback": False,
                "skipped": [],
            },
        ),
    ],
    "otp_send": [
        request(
            "Send a one-time code",
            f"{AUTH} --json @otp.json {BASE}/otp/send",
            {"phone_number": "09171234567", "template": "Your ACME code is :otp. It expires in 5 minutes."},
        ),
        answer(
            "Code sent",
            {"id": 315, "phone_number": "+639171234567", "expires_at": "2026-11-30T07:35:38.000000+08:00"},
            status="201",
        ),
    ],
    "otp_verify": [
        request(
            "Check the code the person typed",
            f'{AUTH} --json \'{{"phone_number": "09171234567", "code": "482913"}}\' {BASE}/otp/verify',
            {"phone_number": "09171234567", "code": "482913"},
        ),
        answer("Right code, in time", {"valid": True}),
    ],
    "notices_list": [
        answer(
            "A fallback route in use",
            {
                "results": [
                    {
                        "id": 3,
                        "kind": "fallback_route",
                        "title": "SMS Fallback Route",
                        "body": 'IPROGSMS has reached its monthly limit; messages go out as "iprogtech".',
                        "published_at": "2026-11-29T10:02:00Z",
                    }
                ],
                "next": None,
            },
            curl=f"{AUTH} {BASE}/notices",
        )
    ],
    "webhook_get": [
        answer(
            "The status webhook",
            {"url": "https://example.com/sms-status", "enabled": True, "created_at": "2026-11-29T23:25:38.025362Z"},
            curl=f"{AUTH} {BASE}/webhook",
        )
    ],
    "webhook_set": [
        request(
            "Set the status webhook",
            f'{AUTH} -X PUT --json \'{{"url": "https://example.com/sms-status"}}\' {BASE}/webhook',
            {"url": "https://example.com/sms-status", "enabled": True},
        ),
        answer(
            "Set; the signing secret is shown this once",
            {
                "url": "https://example.com/sms-status",
                "enabled": True,
                "created_at": "2026-11-29T23:25:38.025362Z",
                "secret": "whsec_2Z7z-7Qan0XXTyVkUhNt8eSLGyU1Xmj1mRPJ_o_ig40",
            },
        ),
    ],
    "webhook_delete": [
        answer_to(
            f"{AUTH} -X DELETE {BASE}/webhook",
            "Remove the status webhook: none set answers 404",
            NOT_FOUND,
            status="404",
        ),
    ],
    "webhook_deliveries_list": [
        answer(
            "Recent deliveries",
            {"results": [DELIVERY], "next": None},
            curl=f'{AUTH} "{BASE}/webhook/deliveries?status=failed"',
        )
    ],
    "webhook_delivery_get": [answer("One delivery", DELIVERY, curl=f"{AUTH} {BASE}/webhook/deliveries/77")],
    "webhook_delivery_retry": [
        answer_to(
            f"{AUTH} -X POST {BASE}/webhook/deliveries/78/retry",
            "Sent again; the answer is the delivery as it stands",
            {**DELIVERY, "id": 78, "attempts": 4},
            status="202",
        ),
    ],
    "webhook_test": [
        answer_to(
            f"{AUTH} -X POST {BASE}/webhook/test",
            "The test event and what the webhook answered",
            {
                **DELIVERY,
                "id": 79,
                "event": "webhook.test",
                "message_id": None,
                "payload": {
                    "event": "webhook.test",
                    "occurred_at": "2026-11-29T23:25:38.129044+00:00",
                    "data": {"organization": "alpha", "note": "A test event: no message changed status."},
                },
            },
        ),
    ],
    "sender_names_list": [
        answer(
            "The organization's sender names",
            {"sender_names": [{**SENDER_NAME, "status": "approved", "is_default": True}]},
            curl=f"{AUTH} {BASE}/sender-names",
        )
    ],
    "sender_names_request": [
        request(
            "Ask for a sender name",
            f'{AUTH} --json \'{{"name": "ACME", "purpose": "Order updates"}}\' {BASE}/sender-names',
            {"name": "ACME", "purpose": "Order updates"},
        ),
        answer("Requested; staff review it", SENDER_NAME, status="201"),
    ],
}
