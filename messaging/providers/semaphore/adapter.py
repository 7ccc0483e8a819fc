"""Semaphore (semaphore.co) API v4 adapter.

API shape, from Semaphore's API documentation (semaphore.co/docs) as mirrored by its client libraries
(semaphore-sms on PyPI, avidian/semaphore on Packagist; read 2026-11-25):
- Send: `POST {base}/api/v4/messages` (form fields) with `apikey`, `number` (comma-separated, up to 1,000),
  `message`, optional `sendername` (an approved sender name; Semaphore's default is "SEMAPHORE") -> a JSON
  list with one message object per recipient: `{"message_id": 1234567, "recipient": "639...",
  "status": "Pending", "network": "Globe", "sender_name": ..., "created_at": ..., ...}`.
- Retrieve: `GET {base}/api/v4/messages/{id}?apikey=...` -> that message (a one-item list, or an object).
- List: `GET {base}/api/v4/messages?apikey=...&limit=(up to 1000)&page=N&startDate=YYYY-MM-DD&endDate=YYYY-MM-DD`
  -> a list of message objects (an empty list past the last page).
- Account: `GET {base}/api/v4/account?apikey=...` -> `{"account_id": ..., "credit_balance": 5000, ...}`.
- Message statuses and the delivery callback: see `messaging.providers.semaphore.callbacks`.
- Transport errors: 401/403 bad key, 429 rate limit (with Retry-After), 5xx server errors.

Not in the public documentation; chosen here and spoken by `messaging.simulator`:
- validation errors come as a JSON object of field -> messages, e.g. `{"number": ["The number format is
  invalid."]}`, with HTTP 200 or 4xx: `number`/`message` fields -> `ProviderRejected`, `apikey`/`sendername`
  -> `ProviderConfigError` (an unapproved sender name fails every message on the route);
- no credits left: a body saying the balance is not sufficient (e.g. "Your current balance of 0 credits is not
  sufficient...") -> `ProviderQuotaExhausted`.
Recorded answers of each kind are in `testdata/`.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging.providers.base import (
    DeliveryReport,
    DeliveryState,
    OutboundSMS,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRejected,
    SendResult,
)
from messaging.providers.http import HTTPProviderAdapter
from messaging.providers.semaphore.callbacks import callback_reports, delivery_report, delivery_state

_NO_CREDITS = re.compile(r"(balance|credit).*(not sufficient|insufficient|not enough)|no (more )?credits", re.I)
_CONFIG_FIELDS = ("apikey", "sendername")
_REJECT_FIELDS = ("number", "message")


def _national(number: object) -> str:
    """Last 10 digits: compares "09171234567", "639171234567" and "+639171234567" as the same number."""
    digits = re.sub(r"\D", "", str(number or ""))
    return digits[-10:]


def _sort_key(message_id: str) -> tuple[int, str]:
    return (int(message_id), "") if message_id.isdigit() else (0, message_id)


class SemaphoreAdapter(HTTPProviderAdapter):
    code = "semaphore"
    label = "Semaphore"
    supports_bulk = True
    max_bulk = 1000
    supports_delivery_callbacks = True
    supports_status_polling = True
    reports_handset_delivery = False  # "Sent" (handed to the network) is its last state for a good message
    supports_sent_lookup = True
    supports_custom_sender_name = True  # `sendername`: any name Semaphore approved for the account
    credential_fields = ("apikey",)
    # Pages of 1,000 read by one lookup at most; a route that busy in a day asks staff instead (see dispatch).
    lookup_max_pages = 20

    def _form(self, numbers: str, body: str) -> dict[str, str]:
        form = {"apikey": self.credentials["apikey"], "number": numbers, "message": body}
        if self.sender_name:
            form["sendername"] = self.sender_name
        return form

    def send(self, *, recipient: str, body: str, reference: str) -> SendResult:
        number = self._provider_number(recipient)
        response = self._request("POST", "/api/v4/messages", data=self._form(number, body))
        messages = self._message_list(response, action="send")
        if len(messages) != 1:
            raise self._ambiguous(len(messages), 1, messages)
        return self._result(messages[0], recipient=recipient, reference=reference)

    def _bulk_request(self, body: str, items: list[OutboundSMS]) -> list[SendResult | ProviderError]:
        numbers = ",".join(self._provider_number(item.recipient) for item in items)
        response = self._request("POST", "/api/v4/messages", data=self._form(numbers, body))
        messages = self._message_list(response, action="send_bulk")
        # Match answers to items by number (in order, so a number listed twice gets both of its answers).
        by_number: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        for message in messages:
            by_number[_national(message.get("recipient"))].append(message)
        outcomes: list[SendResult | ProviderError] = []
        for item in items:
            queue = by_number.get(_national(item.recipient))
            if not queue:
                return [self._ambiguous(len(messages), len(items), messages)] * len(items)
            outcomes.append(self._result(queue.popleft(), recipient=item.recipient, reference=item.reference))
        return outcomes

    def fetch_status(self, *, provider_message_id: str) -> DeliveryReport:
        response = self._request(
            "GET", f"/api/v4/messages/{provider_message_id}", params={"apikey": self.credentials["apikey"]}
        )
        messages = self._message_list(response, action="status")
        if not messages:
            raise ProviderRejected(
                f"{self.label} knows no message {provider_message_id}", code="provider_unknown_message"
            )
        return delivery_report(messages[0], fallback_id=provider_message_id)

    def find_sent(self, *, recipient: str, body: str, since: datetime, memo: dict | None = None) -> list[SendResult]:
        start = (since - timedelta(days=1)).date()
        end = (datetime.now(UTC) + timedelta(days=1)).date()
        if memo is None:
            accepted = self._list_accepted(start, end)
        else:
            if (start, end) not in memo:
                memo[(start, end)] = self._list_accepted(start, end)
            accepted = memo[(start, end)]
        found = [
            self._result(m, recipient=recipient, reference="")
            for m in accepted
            if _national(m.get("recipient")) == _national(recipient) and m.get("message") == body
        ]
        return sorted(found, key=lambda result: _sort_key(result.provider_message_id))

    def _list_accepted(self, start, end) -> list[dict[str, Any]]:
        accepted: list[dict[str, Any]] = []
        for page in range(1, self.lookup_max_pages + 1):
            response = self._request(
                "GET",
                "/api/v4/messages",
                params={
                    "apikey": self.credentials["apikey"],
                    "limit": 1000,
                    "page": page,
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                },
            )
            messages = self._message_list(response, action="list")
            accepted += messages
            if len(messages) < 1000:
                return accepted
        raise ProviderError(
            f"{self.label} lists more than {self.lookup_max_pages * 1000} messages in that window",
            code="provider_lookup_too_large",
        )

    def parse_callback(self, *, data: dict[str, Any], headers: dict[str, str]) -> list[DeliveryReport]:
        return callback_reports(data)

    def remaining_credits(self) -> int | None:
        response = self._request("GET", "/api/v4/account", params={"apikey": self.credentials["apikey"]})
        data = self._json(response)
        if isinstance(data, dict) and "credit_balance" in data:
            try:
                return int(float(data["credit_balance"]))
            except (TypeError, ValueError):
                return None
        self._raise_body_error(data, status=response.status_code, action="account")
        return None

    # --- helpers ---

    def _result(self, message: dict[str, Any], *, recipient: str, reference: str) -> SendResult:
        message_id = message.get("message_id")
        if message_id in (None, ""):
            raise ProviderError(
                f"{self.label} accepted the message but returned no message_id", code="provider_bad_response"
            )
        state = delivery_state(message.get("status"))
        return SendResult(
            provider_message_id=str(message_id),
            recipient=recipient,
            reference=reference,
            state=state if state != DeliveryState.UNKNOWN else DeliveryState.ACCEPTED,
            raw=message,
        )

    def _message_list(self, response: Any, *, action: str) -> list[dict[str, Any]]:
        data = self._json(response)
        if isinstance(data, dict) and _is_message(data):
            data = [data]
        if isinstance(data, list) and all(_is_message(item) for item in data):
            if response.status_code >= 400:
                self._raise_body_error(data, status=response.status_code, action=action)
            return data
        self._raise_body_error(data, status=response.status_code, action=action)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_body_error(self, data: Any, *, status: int, action: str) -> None:
        """Semaphore validation/credit errors, whatever the HTTP status they came with."""
        text = _flatten(data)
        message = f"{self.label} {action} failed (HTTP {status}): {text[:300] or 'empty answer'}"
        details = {"status": status, "body": data}
        if _NO_CREDITS.search(text):
            raise ProviderQuotaExhausted(message, code="provider_quota_exhausted", details=details)
        if isinstance(data, dict):
            if any(field in data for field in _CONFIG_FIELDS):
                raise ProviderConfigError(message, code="provider_config", details=details)
            if any(field in data for field in _REJECT_FIELDS):
                raise ProviderRejected(message, code="provider_rejected", details=details)
        if 400 <= status < 500:
            raise ProviderRejected(message, code="provider_rejected", details=details)
        raise ProviderConnectionError(message, code="provider_bad_response", details=details)


def _is_message(item: Any) -> bool:
    """A message object (validation errors also use field names as keys, but with lists of texts)."""
    return isinstance(item, dict) and isinstance(item.get("message_id"), int | str)


def _flatten(data: Any) -> str:
    if isinstance(data, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in data.items())
    if isinstance(data, list):
        return "; ".join(_flatten(item) for item in data)
    return str(data)
