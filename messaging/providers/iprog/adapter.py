"""IPROG SMS (iprogsms.com / sms.iprogtech.com) adapter.

API shape, from IPROG's public API documentation (iprogsms.com/api/v1/documentation, read 2026-11-25):
- Send: `POST {base}/api/v1/sms_messages` with `api_token`, `phone_number` (639XXXXXXXXX), `message` and
  optional `sms_provider` (0, 1 or 2: IPROG's internal route) ->
  `{"status": 200, "message": "...", "message_id": "iSms-XHYBk"}`.
- Bulk: `POST {base}/api/v1/sms_messages/send_bulk`, same fields with `phone_number` comma-separated ->
  `{"status": 200, "message": "...", "message_ids": "iSms-rQZvhq,iSms-tZrk96"}` (ids in recipient order).
- Status: `GET {base}/api/v1/sms_messages/status?api_token=...&message_id=...`.
- Credits: `GET {base}/api/v1/account/sms_credits?api_token=...`.
IPROG answers most errors with HTTP 200 and `"status": <code>` (usually 500) in the body, so the body's status
is what counts. We send the fields as a JSON body (the documentation shows both query string and JSON).

Not in the public documentation; chosen here and spoken by `messaging.simulator` (adjust when IPROG documents them):
- status answer: `{"status": 200, "message_id": "...", "message_status": "pending|sent|delivered|failed"}`;
- credits answer: `{"status": 200, "data": {"load_balance": 123}}` (also read: `sms_credits`, `credits`);
- error texts: a message mentioning the monthly limit ("...has reached its monthly limit...") or missing
  credits means the route is full (`ProviderQuotaExhausted`); one naming an invalid phone number or a
  missing/blocked message is a `ProviderRejected`; one naming the token is a `ProviderConfigError`; any other
  status 500 is retryable (`ProviderConnectionError`);
- the delivery callback: see `messaging.providers.iprog.callbacks`.
Recorded answers of each kind are in `testdata/`.
"""

from __future__ import annotations

import re
from typing import Any

from messaging.providers.base import (
    DeliveryReport,
    OutboundSMS,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRateLimited,
    ProviderRejected,
    SendResult,
)
from messaging.providers.http import HTTPProviderAdapter
from messaging.providers.iprog.callbacks import callback_reports, delivery_state, parse_timestamp

_QUOTA = re.compile(
    r"monthly limit|limit (has been |was )?reached|reached (its|your|the) .*limit|insufficient|"
    r"not enough (sms )?credits|no (sms )?credits",
    re.IGNORECASE,
)
_AUTH = re.compile(r"api[ _]?token|unauthori[sz]ed|invalid token|forbidden", re.IGNORECASE)
_REJECT = re.compile(
    r"invalid (phone|mobile|number|recipient)|(phone[ _]number|recipient) (is )?(invalid|required|blank)|"
    r"not a valid (phone|mobile|number)|message (is )?(required|blank|empty|too long)|"
    r"blocked|spam|prohibited",
    re.IGNORECASE,
)


class IprogAdapter(HTTPProviderAdapter):
    code = "iprog"
    label = "IPROG SMS"
    supports_bulk = True
    max_bulk = 500
    supports_delivery_callbacks = True
    supports_status_polling = True
    # IPROG sends under its own registered name ("IPROGSMS"); its API takes no sender name.
    supports_custom_sender_name = False
    credential_fields = ("api_token",)

    # --- sending ---

    def _payload(self, phone_number: str, body: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "api_token": self.credentials["api_token"],
            "phone_number": phone_number,
            "message": body,
        }
        if self.credentials.get("sms_provider") not in (None, ""):
            payload["sms_provider"] = int(self.credentials["sms_provider"])
        return payload

    def send(self, *, recipient: str, body: str, reference: str) -> SendResult:
        phone_number = self._provider_number(recipient)
        response = self._request("POST", "/api/v1/sms_messages", json=self._payload(phone_number, body))
        data = self._checked_body(response, action="send")
        message_id = str(data.get("message_id") or "").strip()
        if not message_id:
            raise ProviderError(
                f"{self.label} accepted the message but returned no message_id", code="provider_bad_response"
            )
        return SendResult(provider_message_id=message_id, recipient=recipient, reference=reference, raw=data)

    def _bulk_request(self, body: str, items: list[OutboundSMS]) -> list[SendResult | ProviderError]:
        numbers = ",".join(self._provider_number(item.recipient) for item in items)
        response = self._request("POST", "/api/v1/sms_messages/send_bulk", json=self._payload(numbers, body))
        data = self._checked_body(response, action="send_bulk")
        raw_ids = data.get("message_ids")
        ids = raw_ids if isinstance(raw_ids, list) else str(raw_ids or "").split(",")
        ids = [str(message_id).strip() for message_id in ids if str(message_id).strip()]
        if len(ids) != len(items):
            ambiguous = self._ambiguous(len(ids), len(items), data)
            return [ambiguous] * len(items)
        return [
            SendResult(
                provider_message_id=message_id,
                recipient=item.recipient,
                reference=item.reference,
                raw={"message_id": message_id, "bulk": True},
            )
            for item, message_id in zip(items, ids, strict=True)
        ]

    # --- status, callbacks, credits ---

    def fetch_status(self, *, provider_message_id: str) -> DeliveryReport:
        response = self._request(
            "GET",
            "/api/v1/sms_messages/status",
            params={"api_token": self.credentials["api_token"], "message_id": provider_message_id},
        )
        data = self._checked_body(response, action="status")
        payload = data.get("data") if isinstance(data.get("data"), dict) else data
        raw_state = payload.get("message_status") or payload.get("sms_status") or payload.get("delivery_status")
        return DeliveryReport(
            provider_message_id=str(payload.get("message_id") or provider_message_id),
            state=delivery_state(raw_state),
            error_message=str(payload.get("error") or ""),
            occurred_at=parse_timestamp(payload.get("timestamp") or payload.get("updated_at")),
            raw=data,
        )

    def parse_callback(self, *, data: dict[str, Any], headers: dict[str, str]) -> list[DeliveryReport]:
        return callback_reports(data)

    def remaining_credits(self) -> int | None:
        response = self._request(
            "GET", "/api/v1/account/sms_credits", params={"api_token": self.credentials["api_token"]}
        )
        data = self._checked_body(response, action="credits")
        for container in (data.get("data"), data):
            if not isinstance(container, dict):
                continue
            for key in ("load_balance", "sms_credits", "credits", "balance"):
                if container.get(key) is not None:
                    try:
                        return int(float(container[key]))
                    except (TypeError, ValueError):
                        return None
        return None

    # --- helpers ---

    def _checked_body(self, response: Any, *, action: str) -> dict[str, Any]:
        """The JSON body when IPROG says it worked; otherwise the matching ProviderError."""
        data = self._json(response)
        if not isinstance(data, dict):
            raise ProviderConnectionError(
                f"{self.label} {action}: unexpected answer {str(data)[:120]!r}", code="provider_bad_response"
            )
        message = str(data.get("message") or data.get("error") or "").strip()
        try:
            status = int(data.get("status", response.status_code))
        except (TypeError, ValueError):
            status = 500 if message else response.status_code
        if 200 <= status < 300 and response.status_code < 400:
            return data
        text = f"{self.label} {action} failed (status {status}): {message or 'no message'}"
        details = {"status": status, "body": data}
        if _QUOTA.search(message):
            raise ProviderQuotaExhausted(text, code="provider_quota_exhausted", details=details)
        if status in (401, 403) or _AUTH.search(message):
            raise ProviderConfigError(text, code="provider_auth_failed", details=details)
        if status == 429:
            raise ProviderRateLimited(text, details=details)
        if _REJECT.search(message) or 400 <= status < 500:
            raise ProviderRejected(text, code="provider_rejected", details=details)
        raise ProviderConnectionError(text, code="provider_server_error", details=details)
