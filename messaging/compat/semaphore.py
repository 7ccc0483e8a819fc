"""Semaphore API v4, answered under our host: a customer changes only the base URL of their Semaphore client.

Shapes follow Semaphore's documentation and what its clients parse (research notes): sends answer an array with
one message object per recipient; validation errors are HTTP 200 with a field-keyed object of Laravel texts
(`{"number": ["The number format is invalid."]}`); a bad or missing `apikey` is also HTTP 200
(`{"apikey": ["The selected apikey is invalid."]}`), never 401/403, because that is what the live API answers;
not enough credits is HTTP 500 with an array holding one string; throttling is HTTP 429 with the text
"Too Many Attempts." and `Retry-After`. An unknown message id (or another organization's) answers 404 with `[]`
(the empty list clients parse, and a status that says not found). A key without the scope an endpoint needs
answers 403 with an `apikey` field error.
Timestamps are Asia/Manila without an offset. Sending goes through `message_send` like the native API.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.utils.dateparse import parse_date
from rest_framework import exceptions
from rest_framework.response import Response

from accounts.models import OrganizationStatus
from accounts.roles import Scope
from accounts.selectors import member_list
from billing import selectors as billing_selectors
from billing.models import LedgerEntryKind
from messaging import selectors
from messaging.compat.base import CompatAPIView, InvalidKey, MissingKey, MissingScope, split_numbers
from messaging.models import Message, MessageChannel, MessageStatus, MessageType, SenderNameStatus
from messaging.numbers import Network, is_valid_ph_number
from messaging.segments import count_segments
from messaging.sender_names import sender_name_list
from messaging.services.sending import message_send
from portal.errors import NotFound
from portal.timezone import operator_tz

MAX_NUMBERS = 1000
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
OTP_PLACEHOLDER = "{otp}"
OTP_DEFAULT_SUFFIX = "Your One Time Password is {otp}"

# Semaphore's Title-case status for each of ours, and the statuses a lower-case list filter selects.
STATUS = {
    MessageStatus.QUEUED: "Pending",
    MessageStatus.SENDING: "Pending",
    MessageStatus.SENT: "Sent",
    MessageStatus.DELIVERED: "Sent",
    MessageStatus.EXPIRED: "Failed",
    MessageStatus.REJECTED: "Failed",
    MessageStatus.FAILED: "Refunded",
    MessageStatus.CANCELLED: "Refunded",
}
STATUS_FILTER = {
    "pending": [MessageStatus.QUEUED, MessageStatus.SENDING],
    "queued": [MessageStatus.QUEUED],
    "sent": [MessageStatus.SENT, MessageStatus.DELIVERED],
    "success": [MessageStatus.SENT, MessageStatus.DELIVERED],
    "failed": [MessageStatus.EXPIRED, MessageStatus.REJECTED],
    "refunded": [MessageStatus.FAILED, MessageStatus.CANCELLED],
}
# Semaphore names networks by operator brand.
NETWORK = {
    Network.GLOBE: "Globe",
    Network.TM: "Globe",
    Network.SMART: "Smart",
    Network.TNT: "Smart",
    Network.SUN: "Sun",
    Network.DITO: "Dito",
    Network.UNKNOWN: "Unknown",
}
NETWORK_FILTER = {
    "globe": [Network.GLOBE, Network.TM],
    "smart": [Network.SMART, Network.TNT],
    "sun": [Network.SUN],
    "dito": [Network.DITO],
}
TRANSACTION_METHOD = {
    LedgerEntryKind.TOPUP: "Cash",
    LedgerEntryKind.CHARGE: "Message",
    LedgerEntryKind.REFUND: "Message",
    LedgerEntryKind.ADJUSTMENT: "Promotion",
    LedgerEntryKind.EXPIRY: "Expiry",
}
SENDER_NAME_STATUS = {
    SenderNameStatus.APPROVED: "Active",
    SenderNameStatus.PENDING: "Pending",
    SenderNameStatus.REJECTED: "Rejected",
}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _timestamp(moment) -> str:
    return moment.astimezone(operator_tz()).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _timestamp_12h(moment) -> str:
    local = moment.astimezone(operator_tz())
    return f"{local:%Y-%m-%d} {local.hour % 12 or 12}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def message_object(message: Message, *, text: str | None = None) -> dict:
    """One message in Semaphore's shape (send, priority, otp, list and get-by-id all use it)."""
    user = message.created_by or (message.api_key.created_by if message.api_key_id else None)
    return {
        "message_id": message.pk,
        "user_id": user.pk if user else 0,
        "user": user.email if user else "",
        "account_id": message.organization_id,
        "account": message.organization.name,
        "recipient": message.recipient[1:],
        "message": message.body if text is None else text,
        "sender_name": message.sender_name,
        "network": NETWORK.get(message.network, "Unknown"),
        "status": STATUS.get(message.status, "Pending"),
        "type": message.get_message_type_display(),
        "source": "Api" if message.channel in (MessageChannel.API, MessageChannel.OTP) else "Webtool",
        "created_at": _timestamp(message.created_at),
        "updated_at": _timestamp(message.status_changed_at),
    }


def _page(params: dict) -> tuple[int, int]:
    def positive(name: str, default: int) -> int:
        try:
            return max(1, int(params.get(name, default)))
        except (TypeError, ValueError):
            return default

    return min(positive("limit", DEFAULT_LIMIT), MAX_LIMIT), positive("page", 1)


class SemaphoreView(CompatAPIView):
    key_parameter = "apikey"
    body_wins = True

    def provider_error(self, exc):
        if isinstance(exc, exceptions.Throttled):
            wait = int(exc.wait or 0) + 1
            headers = {"Retry-After": str(wait), "X-RateLimit-Limit": str(self.throttle_limit())}
            headers["X-RateLimit-Remaining"] = "0"
            return HttpResponse("Too Many Attempts.", status=429, content_type="text/plain", headers=headers)
        if isinstance(exc, MissingKey):
            return Response({"apikey": ["The apikey field is required."]})
        if isinstance(exc, InvalidKey):
            return Response({"apikey": ["The selected apikey is invalid."]})
        if isinstance(exc, MissingScope):
            # A good key without the scope: 403, in Laravel's field-error shape, like the native API's refusal.
            return Response({"apikey": [exc.message]}, status=403)
        if isinstance(exc, NotFound):
            return Response([], status=404)
        field_error = {
            "invalid_recipients": {"number": ["The number format is invalid."]},
            "invalid_number": {"number": ["The number format is invalid."]},
            "no_recipients": {"number": ["The number field is required."]},
            "too_many_recipients": {"number": [f"The number may not have more than {MAX_NUMBERS} items."]},
            "sender_name_not_approved": {"sendername": ["The selected sendername is invalid."]},
            "empty_body": {"message": ["The message field is required."]},
            "body_too_long": {
                "message": [f"The message may not be greater than {settings.SMS_MAX_BODY_CHARACTERS} characters."]
            },
        }.get(exc.code)
        if field_error is not None:
            return Response(field_error)
        if exc.code == "insufficient_credits":
            return Response([self._insufficient_text()], status=500)
        return Response([exc.message], status=500)

    def _insufficient_text(self) -> str:
        balance = billing_selectors.balance_get(organization=self.organization)
        segments = count_segments(self.params.get("message", "") or " ").segments
        price = billing_selectors.message_price(organization=self.organization, segments=segments)
        required = price * len(split_numbers(self.params.get("number")))
        return (
            f"Your current balance of {_number(balance)} credits is not sufficient. "
            f"This transaction requires {_number(required)} credits."
        )


class SendView(SemaphoreView):
    """POST /api/v4/messages and /api/v4/priority."""

    message_type: str | None = None  # None: Single or Bulk by the number of recipients
    required_scopes = {"POST": Scope.SEND}

    def _validated(self) -> tuple[list[str], str]:
        numbers = split_numbers(self.params.get("number"))
        text = self.params.get("message", "")
        errors: dict[str, list[str]] = {}
        if not numbers:
            errors["number"] = ["The number field is required."]
        elif len(numbers) > MAX_NUMBERS:
            errors["number"] = [f"The number may not have more than {MAX_NUMBERS} items."]
        elif not all(is_valid_ph_number(n) for n in numbers):
            errors["number"] = ["The number format is invalid."]
        if not text.strip():
            errors["message"] = ["The message field is required."]
        if errors:
            raise FieldErrors(errors)
        return numbers, text

    def handle_exception(self, exc):
        if isinstance(exc, FieldErrors):
            return Response(exc.errors)
        return super().handle_exception(exc)

    def post(self, request):
        numbers, text = self._validated()
        messages = message_send(
            organization=self.organization,
            api_key=self.api_key,
            recipients=numbers,
            body=text,
            sender_name=self.params.get("sendername") or None,
            channel=MessageChannel.API,
            message_type=self.message_type,
        )
        return Response([message_object(m) for m in messages])


class FieldErrors(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class MessagesAPI(SendView):
    """POST /api/v4/messages (send) and GET /api/v4/messages (list, newest first)."""

    required_scopes = {"POST": Scope.SEND, "GET": Scope.READ}

    def get(self, request):
        limit, page = _page(self.params)
        start = parse_date(self.params.get("startDate", "") or "")
        end = parse_date(self.params.get("endDate", "") or "")
        status = STATUS_FILTER.get(self.params.get("status", "").lower(), ())
        network = NETWORK_FILTER.get(self.params.get("network", "").lower(), ())
        if self.params.get("status") and not status or self.params.get("network") and not network:
            return Response([])
        filters = selectors.MessageFilters(
            status=tuple(status),
            network=tuple(network),
            created_from=datetime.combine(start, time.min, tzinfo=operator_tz()) if start else None,
            created_to=datetime.combine(end, time.max, tzinfo=operator_tz()) if end else None,
        )
        queryset = selectors.message_list(organization=self.organization, filters=filters)
        if self.params.get("sendername"):
            queryset = queryset.filter(sender_name=self.params["sendername"])
        rows = queryset.select_related("organization", "created_by", "api_key__created_by")[
            (page - 1) * limit : page * limit
        ]
        return Response([message_object(m) for m in rows])


class PriorityAPI(SendView):
    """POST /api/v4/priority: the same send; our queue has no slower lane to bypass, so only `type` differs."""

    message_type = MessageType.PRIORITY


class OtpAPI(SendView):
    """POST /api/v4/otp: `{otp}` in the message is replaced by the code (appended when absent); the answer carries
    the code as an int. The code may be given (`code`) or is generated (6 digits). Stored masked, like every
    one-time code."""

    def post(self, request):
        numbers, text = self._validated_otp()
        code = (self.params.get("code") or "").strip()
        if not code.isdigit():
            code = f"{secrets.randbelow(10**6):06d}"
        template = text if OTP_PLACEHOLDER in text else f"{text.rstrip()} {OTP_DEFAULT_SUFFIX}".strip()
        messages = message_send(
            organization=self.organization,
            api_key=self.api_key,
            recipients=numbers,
            body=template.replace(OTP_PLACEHOLDER, "*" * len(code)),
            delivery_body=template.replace(OTP_PLACEHOLDER, code),
            sender_name=self.params.get("sendername") or None,
            channel=MessageChannel.OTP,
        )
        delivered_text = template.replace(OTP_PLACEHOLDER, code)
        return Response([{**message_object(m, text=delivered_text), "code": int(code)} for m in messages])

    def _validated_otp(self) -> tuple[list[str], str]:
        if not (self.params.get("message") or "").strip():
            self.params["message"] = "Thanks for registering."
        return self._validated()


class MessageDetailAPI(SemaphoreView):
    """GET /api/v4/messages/{id}: a one-element array; 404 `[]` when unknown or another organization's."""

    required_scopes = {"GET": Scope.READ}

    def get(self, request, message_id: int):
        message = selectors.message_get(organization=self.organization, message_id=message_id)
        return Response([message_object(message)])


class AccountAPI(SemaphoreView):
    """GET /api/v4/account"""

    required_scopes = {"GET": Scope.BILLING}

    def get(self, request):
        organization = self.organization
        return Response(
            {
                "account_id": organization.pk,
                "account_name": organization.name,
                "status": "Active" if organization.status == OrganizationStatus.ACTIVE else organization.status.title(),
                "credit_balance": _number(billing_selectors.balance_get(organization=organization)),
            }
        )


class TransactionsAPI(SemaphoreView):
    """GET /api/v4/account/transactions: the credit ledger, newest first."""

    required_scopes = {"GET": Scope.BILLING}

    def get(self, request):
        limit, page = _page(self.params)
        entries = billing_selectors.ledger_entry_list(organization=self.organization)[(page - 1) * limit : page * limit]
        return Response(
            [
                {
                    "id": entry.pk,
                    "user_id": entry.actor_id or 0,
                    "user": entry.actor.email if entry.actor else "",
                    "status": "Approved",
                    "transaction_method": TRANSACTION_METHOD.get(entry.kind, "Promotion"),
                    "external_transaction_id": str(entry.message_id) if entry.message_id else "",
                    "amount": f"{abs(entry.amount):.2f}",
                    "credit_value": str(_number(entry.amount)),
                    "created_at": _timestamp_12h(entry.created_at),
                    "updated_at": _timestamp_12h(entry.created_at),
                }
                for entry in entries
            ]
        )


class SenderNamesAPI(SemaphoreView):
    """GET /api/v4/account/sendernames"""

    required_scopes = {"GET": Scope.READ}

    def get(self, request):
        limit, page = _page(self.params)
        names = sender_name_list(organization=self.organization)[(page - 1) * limit : page * limit]
        return Response(
            [
                {
                    "name": n.name,
                    "status": SENDER_NAME_STATUS.get(n.status, "Pending"),
                    "created": _timestamp_12h(n.created_at),
                }
                for n in names
            ]
        )


class UsersAPI(SemaphoreView):
    """GET /api/v4/account/users"""

    required_scopes = {"GET": Scope.ADMIN}

    def get(self, request):
        limit, page = _page(self.params)
        members = member_list(organization=self.organization)[(page - 1) * limit : page * limit]
        return Response(
            [
                {"user_id": m.user_id, "email": m.user.email, "role": m.get_role_display(), "status": "Active"}
                for m in members
            ]
        )
