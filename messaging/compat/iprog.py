"""IPROG SMS API v1, answered under our host: a customer changes only the base URL of their IPROG client.

Shapes follow IPROG's documentation and what its clients parse (research notes: /api/v1/sms_messages,
send_bulk, status, account/sms_credits, otp/send_otp, otp/verify_otp). Every answer is HTTP 200 (except 429); the
body's `status` carries the outcome: the int 200 on the sms routes, the string "success" on credits and OTP;
failures are `{"status": 500, "message": ...}` on the sms routes (a list of strings for field errors) and
`{"status": "error", "message": ...}` on credits and OTP. `sms_provider` (0, 1, 2) is accepted and ignored: our
provider chain chooses the route. Sending goes through `message_send` / `otp_send` like the native API.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions
from rest_framework.response import Response

from accounts.roles import Scope
from billing import selectors as billing_selectors
from messaging import selectors
from messaging.compat.base import CompatAPIView, InvalidKey, MissingKey, MissingScope, split_numbers
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.services.otp import otp_send, otp_verify
from messaging.services.sending import message_send
from portal.errors import ApplicationError, NotFound
from portal.timezone import operator_tz

QUEUED_ONE = "Your SMS message has been successfully added to the queue and will be processed shortly."
QUEUED_BULK = "Your bulk SMS messages have been successfully added to the queue and will be processed shortly."
INVALID_TOKEN = "Invalid Token"
MESSAGE_NOT_FOUND = "Message not found."

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MESSAGE_ID_PREFIX = "iSms-"

# IPROG's lower-case message_status for each of our statuses.
MESSAGE_STATUS = {
    MessageStatus.QUEUED: "pending",
    MessageStatus.SENDING: "pending",
    MessageStatus.SENT: "sent",
    MessageStatus.DELIVERED: "delivered",
    MessageStatus.FAILED: "failed",
    MessageStatus.EXPIRED: "failed",
    MessageStatus.REJECTED: "failed",
    MessageStatus.CANCELLED: "failed",
}


def message_id_encode(pk: int) -> str:
    """Our message id in IPROG's form: "iSms-" and at least six base-62 characters (42 -> "iSms-00000g")."""
    digits = ""
    while pk:
        pk, rest = divmod(pk, 62)
        digits = _ALPHABET[rest] + digits
    return MESSAGE_ID_PREFIX + digits.rjust(6, "0")


def message_id_decode(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw.startswith(MESSAGE_ID_PREFIX) or not raw[len(MESSAGE_ID_PREFIX) :]:
        return None
    pk = 0
    for char in raw[len(MESSAGE_ID_PREFIX) :]:
        index = _ALPHABET.find(char)
        if index < 0:
            return None
        pk = pk * 62 + index
    return pk if 0 < pk < 2**63 else None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class IprogSmsView(CompatAPIView):
    """The sms routes: `{"status": 200, ...}` on success, `{"status": 500, "message": ...}` on failure."""

    key_parameter = "api_token"

    def provider_error(self, exc):
        if isinstance(exc, exceptions.Throttled):
            wait = int(exc.wait or 0) + 1
            return Response(
                {"status": 429, "message": f"Too many requests. Try again in {wait} seconds."},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        if isinstance(exc, MissingKey | InvalidKey):
            return Response({"status": 500, "message": INVALID_TOKEN})
        if isinstance(exc, MissingScope):
            return Response({"status": 403, "message": exc.message})
        if isinstance(exc, NotFound):
            return Response({"status": 404, "message": MESSAGE_NOT_FOUND})
        return Response({"status": 500, "message": exc.message})

    def _send(self, *, bulk: bool) -> Response:
        numbers = split_numbers(self.params.get("phone_number"))
        text = self.params.get("message", "")
        missing = []
        if not numbers:
            missing.append("Phone number can't be blank")
        if not text.strip():
            missing.append("Message can't be blank")
        if missing:
            return Response({"status": 500, "message": missing})
        if not bulk and len(numbers) > 1:
            return Response({"status": 500, "message": "Use /sms_messages/send_bulk for more than one number."})
        messages = message_send(
            organization=self.organization,
            api_key=self.api_key,
            recipients=numbers,
            body=text,
            sender_name=self.params.get("sender_name") or None,
            channel=MessageChannel.API,
        )
        if bulk:
            ids = ",".join(message_id_encode(m.pk) for m in messages)
            return Response({"status": 200, "message": QUEUED_BULK, "message_ids": ids})
        return Response({"status": 200, "message": QUEUED_ONE, "message_id": message_id_encode(messages[0].pk)})


class SmsMessageSendAPI(IprogSmsView):
    """POST /api/v1/sms_messages"""

    required_scopes = {"POST": Scope.SEND}

    def post(self, request):
        return self._send(bulk=False)


class SmsMessageSendBulkAPI(IprogSmsView):
    """POST (or GET) /api/v1/sms_messages/send_bulk"""

    required_scopes = {"POST": Scope.SEND, "GET": Scope.SEND}

    def post(self, request):
        return self._send(bulk=True)

    def get(self, request):
        return self._send(bulk=True)


class SmsMessageStatusAPI(IprogSmsView):
    """GET /api/v1/sms_messages/status?message_id=iSms-..."""

    required_scopes = {"GET": Scope.READ, "POST": Scope.READ}

    def get(self, request):
        pk = message_id_decode(self.params.get("message_id"))
        if pk is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        message: Message = selectors.message_get(organization=self.organization, message_id=pk)
        return Response(
            {
                "status": 200,
                "message_status": MESSAGE_STATUS.get(message.status, "pending"),
                "message_id": message_id_encode(message.pk),
                "phone_number": message.recipient[1:],
                "delivery_status": message.status,
                "failure_reason": message.error_message or None,
            }
        )

    post = get


class IprogSuccessView(CompatAPIView):
    """The credits and OTP routes: `{"status": "success", ...}` / `{"status": "error", "message": ...}`."""

    key_parameter = "api_token"
    key_error_message = INVALID_TOKEN

    def provider_error(self, exc):
        if isinstance(exc, exceptions.Throttled):
            wait = int(exc.wait or 0) + 1
            return Response(
                {"status": "error", "message": f"Too many requests. Try again in {wait} seconds."},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        if isinstance(exc, MissingKey | InvalidKey):
            return Response({"status": "error", "message": self.key_error_message})
        if isinstance(exc, MissingScope):
            return Response({"status": "error", "message": exc.message})
        return Response({"status": "error", "message": exc.message})


class SmsCreditsAPI(IprogSuccessView):
    """GET /api/v1/account/sms_credits"""

    key_error_message = "Account not found."
    required_scopes = {"GET": Scope.BILLING, "POST": Scope.BILLING}

    def get(self, request):
        balance = billing_selectors.balance_get(organization=self.organization)
        return Response({"status": "success", "message": "Account found.", "data": {"load_balance": _number(balance)}})

    post = get


def _default_otp_template() -> str:
    minutes = max(1, settings.SMS_OTP_TTL_SECONDS // 60)
    return f"Your OTP code is :otp. It is valid for {minutes} minutes."


class OtpSendAPI(IprogSuccessView):
    """POST /api/v1/otp/send_otp: `message` may carry ":otp" where the code goes (default template otherwise).
    The code's lifetime is ours (SMS_OTP_TTL_SECONDS); `expires_in_minutes` is accepted and ignored."""

    required_scopes = {"POST": Scope.SEND}

    def post(self, request):
        number = self.params.get("phone_number", "")
        if not number.strip():
            raise ApplicationError("Phone number can't be blank")
        template = self.params.get("message") or _default_otp_template()
        if ":otp" not in template:
            template = f"{template.rstrip()} :otp"
        challenge = otp_send(
            organization=self.organization, phone_number=number.strip(), template=template, api_key=self.api_key
        )
        return Response(
            {
                "status": "success",
                "message": "OTP sent successfully.",
                "data": {
                    "phone_number": challenge.phone_number[1:],
                    "otp_code_expires_at": challenge.expires_at.astimezone(operator_tz()).isoformat(
                        timespec="milliseconds"
                    ),
                },
            }
        )


class OtpVerifyAPI(IprogSuccessView):
    """POST /api/v1/otp/verify_otp"""

    required_scopes = {"POST": Scope.SEND}

    def post(self, request):
        number, code = self.params.get("phone_number", "").strip(), self.params.get("otp", "").strip()
        if not number or not code:
            raise ApplicationError("Phone number and OTP can't be blank")
        if otp_verify(organization=self.organization, phone_number=number, code=code):
            return Response({"status": "success", "message": "OTP verified successfully."})
        return Response({"status": "error", "message": "Invalid or expired OTP."})
