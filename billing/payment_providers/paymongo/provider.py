"""PayMongo spoken with `requests`: Checkout Sessions and webhook events.

- `POST /v1/checkout_sessions` with `{"data": {"attributes": {line_items, payment_method_types, success_url,
  cancel_url, reference_number, description, metadata, ...}}}`; amounts are integer centavos; the answer's
  `data.id` is the session ("cs_..."), `data.attributes.checkout_url` the hosted page.
- `GET /v1/checkout_sessions/{id}`: `attributes.status` is "active" or "expired"; a paid session lists a payment
  whose `attributes.status` is "paid" under `attributes.payments`, and names `payment_method_used`.
- Authentication: HTTP Basic with the secret key as the user name and no password.
- Webhooks: `{"data": {"id": "evt_...", "type": "event", "attributes": {"type", "livemode", "data": <resource>}}}`,
  signed as `signature.py` describes. `checkout_session.payment.paid` carries the checkout session;
  `payment.failed` carries the payment (its `payment_intent_id`, `failed_code`, `failed_message`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from billing.payment_providers.base import (
    Checkout,
    CheckoutStatus,
    PaymentProvider,
    PaymentProviderError,
    WebhookEvent,
    WebhookKind,
    WebhookVerificationError,
)
from billing.payment_providers.paymongo.signature import HEADER, signature_verify

PAID_EVENT = "checkout_session.payment.paid"
FAILED_EVENT = "payment.failed"
# PayMongo's payment method codes that billing knows by the same name (billing.models.PaymentMethod).
KNOWN_METHODS = {"gcash", "paymaya", "card", "qrph"}
TIMEOUT = (3.05, 20)


def _centavos(amount_php: Decimal) -> int:
    centavos = amount_php * 100
    if centavos != centavos.to_integral_value():
        raise ValueError(f"₱{amount_php} has more than two decimals")
    return int(centavos)


def _pesos(centavos: Any) -> Decimal | None:
    return Decimal(int(centavos)) / 100 if isinstance(centavos, int) and not isinstance(centavos, bool) else None


def checkout_from_resource(resource: Mapping[str, Any]) -> Checkout:
    """A checkout session resource (`{"id", "type": "checkout_session", "attributes": {...}}`) as a Checkout."""
    attributes = resource.get("attributes") or {}
    paid = next(
        (
            payment
            for payment in attributes.get("payments") or []
            if (payment.get("attributes") or {}).get("status") == "paid"
        ),
        None,
    )
    intent = attributes.get("payment_intent") or {}
    if paid is not None:
        status = CheckoutStatus.PAID
    elif attributes.get("status") == "expired":
        status = CheckoutStatus.EXPIRED
    else:
        status = CheckoutStatus.OPEN
    method = attributes.get("payment_method_used") or ""
    if paid is not None and not method:
        method = ((paid.get("attributes") or {}).get("source") or {}).get("type", "")
    amount = None
    if paid is not None:
        amount = _pesos((paid.get("attributes") or {}).get("amount"))
    if amount is None:
        items = attributes.get("line_items") or []
        try:
            amount = sum((Decimal(int(i["amount"])) * int(i.get("quantity", 1)) for i in items), Decimal(0)) / 100
        except (KeyError, TypeError, ValueError):
            amount = None
    return Checkout(
        id=str(resource.get("id") or ""),
        status=status,
        checkout_url=attributes.get("checkout_url") or "",
        amount_php=amount,
        reference_number=attributes.get("reference_number") or "",
        intent_id=str(intent.get("id") or ""),
        payment_id=str(paid.get("id") or "") if paid is not None else "",
        method=(method if method in KNOWN_METHODS else "other") if method else "",
        metadata=attributes.get("metadata") or {},
    )


class PayMongoProvider(PaymentProvider):
    code = "paymongo"
    label = "PayMongo"

    def __init__(
        self,
        *,
        base_url: str,
        secret_key: str,
        webhook_secret: str,
        payment_method_types: list[str],
        tolerance_seconds: int = 300,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.payment_method_types = list(payment_method_types)
        self.tolerance_seconds = tolerance_seconds
        # Live keys sign webhooks in the `li` part, test keys in `te`.
        self.livemode = secret_key.startswith("sk_live_")
        self.session = session or requests.Session()

    @classmethod
    def from_settings(cls) -> PayMongoProvider:
        return cls(
            base_url=settings.PAYMONGO_BASE_URL,
            secret_key=settings.PAYMONGO_SECRET_KEY,
            webhook_secret=settings.PAYMONGO_WEBHOOK_SECRET,
            payment_method_types=settings.PAYMONGO_PAYMENT_METHOD_TYPES,
            tolerance_seconds=settings.PAYMONGO_WEBHOOK_TOLERANCE_SECONDS,
        )

    # --- HTTP ---

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        try:
            response = self.session.request(
                method,
                f"{self.base_url}{path}",
                json=payload,
                auth=(self.secret_key, ""),
                headers={"Accept": "application/json"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            raise PaymentProviderError(f"PayMongo could not be reached: {error}", retryable=True) from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            details = "; ".join(
                str(item.get("detail") or item.get("code"))
                for item in body.get("errors") or []
                if isinstance(item, dict)
            )
            raise PaymentProviderError(
                f"PayMongo answered {response.status_code}: {details or response.reason}",
                retryable=response.status_code >= 500 or response.status_code == 429,
                status=response.status_code,
            )
        if not isinstance(body.get("data"), dict):
            raise PaymentProviderError("PayMongo's answer has no data object.", retryable=True)
        return body["data"]

    # --- Checkout Sessions ---

    def checkout_create(
        self,
        *,
        reference_number: str,
        amount_php: Decimal,
        item_name: str,
        description: str,
        success_url: str,
        cancel_url: str,
        metadata: Mapping[str, str],
    ) -> Checkout:
        attributes = {
            "line_items": [
                {
                    "name": item_name,
                    "amount": _centavos(amount_php),
                    "currency": "PHP",
                    "quantity": 1,
                    "description": description,
                }
            ],
            "payment_method_types": self.payment_method_types,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "reference_number": reference_number,
            "description": description,
            "metadata": dict(metadata),
            "send_email_receipt": False,  # the portal issues the receipt
            "show_description": True,
            "show_line_items": True,
        }
        checkout = checkout_from_resource(
            self._call("POST", "/v1/checkout_sessions", {"data": {"attributes": attributes}})
        )
        if not checkout.id or not checkout.checkout_url:
            raise PaymentProviderError("PayMongo created a checkout session without an id or a checkout URL.")
        return checkout

    def checkout_get(self, checkout_id: str) -> Checkout:
        if not checkout_id.replace("_", "").isalnum():
            raise PaymentProviderError(f"{checkout_id!r} is not a checkout session id.")
        return checkout_from_resource(self._call("GET", f"/v1/checkout_sessions/{checkout_id}"))

    # --- Webhooks ---

    def webhook_event(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        header = next((value for name, value in headers.items() if name.lower() == HEADER.lower()), None)
        signature_verify(
            header=header,
            body=body,
            secret=self.webhook_secret,
            livemode=self.livemode,
            tolerance_seconds=self.tolerance_seconds,
        )
        try:
            event = json.loads(body)["data"]
            attributes = event["attributes"]
            event_id, event_type = str(event["id"]), str(attributes["type"])
            resource = attributes.get("data") or {}
        except (ValueError, KeyError, TypeError):
            raise WebhookVerificationError("The webhook body is not a PayMongo event.") from None
        if bool(attributes.get("livemode")) != self.livemode:
            raise WebhookVerificationError("The event's mode (live or test) is not this site's.")
        if event_type == PAID_EVENT:
            checkout = checkout_from_resource(resource)
            return WebhookEvent(
                id=event_id,
                type=event_type,
                kind=WebhookKind.PAID,
                checkout=checkout,
                checkout_id=checkout.id,
                intent_id=checkout.intent_id,
                reference_number=checkout.reference_number,
            )
        if event_type == FAILED_EVENT:
            payment = resource.get("attributes") or {}
            reason = payment.get("failed_message") or payment.get("failed_code") or "The payment failed."
            return WebhookEvent(
                id=event_id,
                type=event_type,
                kind=WebhookKind.FAILED,
                intent_id=str(payment.get("payment_intent_id") or ""),
                reference_number=str((payment.get("metadata") or {}).get("reference_number") or ""),
                failure_reason=str(reason)[:255],
            )
        return WebhookEvent(id=event_id, type=event_type, kind=WebhookKind.OTHER)
