"""What every online payment provider plugin offers billing: a hosted checkout and signed webhooks.

A provider is a class with a short `code`, listed by dotted path in `settings.BILLING_PAYMENT_PROVIDERS` (like the
SMS provider adapters). Billing's checkout services (`billing/checkout.py`) speak only this interface: they create
a checkout for a pending `Payment`, send the customer to its URL, and credit the ledger when a verified webhook or
a look-up of the checkout says it was paid.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar


class PaymentProviderError(Exception):
    """The provider could not be reached or refused the call; `retryable` when trying again may work."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class WebhookVerificationError(Exception):
    """A webhook whose signature, timestamp or shape is not right: it is refused and changes nothing."""


class CheckoutStatus:
    OPEN = "open"  # the customer may still pay
    PAID = "paid"
    EXPIRED = "expired"  # no longer payable and not paid


@dataclass(frozen=True)
class Checkout:
    """A checkout as the provider sees it."""

    id: str
    status: str
    checkout_url: str = ""
    amount_php: Decimal | None = None
    reference_number: str = ""
    intent_id: str = ""
    payment_id: str = ""  # the provider's id of the payment that paid it
    method: str = ""  # how it was paid: one of billing.models.PaymentMethod's values
    metadata: Mapping[str, Any] = field(default_factory=dict)


class WebhookKind:
    PAID = "paid"
    FAILED = "failed"
    OTHER = "other"  # acknowledged and recorded, nothing to do


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook event."""

    id: str
    type: str
    kind: str
    checkout: Checkout | None = None  # for a paid checkout
    checkout_id: str = ""
    intent_id: str = ""
    reference_number: str = ""
    failure_reason: str = ""


class PaymentProvider(ABC):
    code: ClassVar[str] = ""
    label: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def from_settings(cls) -> PaymentProvider:
        """The provider configured by the site's settings."""

    @abstractmethod
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
        """Open a hosted checkout for one item; the customer is sent to `checkout_url`."""

    @abstractmethod
    def checkout_get(self, checkout_id: str) -> Checkout:
        """The checkout as the provider sees it now."""

    @abstractmethod
    def webhook_event(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a webhook delivery (raises WebhookVerificationError) and say what it means."""
