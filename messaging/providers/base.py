"""The interface every SMS provider adapter implements.

The engine talks to providers only through this module: it builds an adapter from a `messaging.Provider` row
(`adapter_class(base_url=..., credentials=..., sender_name=..., timeout=...)`), calls `send`/`send_bulk`, and
decides what to do next from the *type* of error raised, never from provider-specific strings. The error split
follows Courier's provider errors:

- `ProviderConfigError`: bad credentials/config (401/403, unknown sender name); final for this route.
- `ProviderConnectionError`: network error, timeout, HTTP 5xx, a provider's "status 500" body; retry later.
- `ProviderRateLimited`: HTTP 429 / throttled; retry later (after `retry_after` seconds if given).
- `ProviderQuotaExhausted`: the route's monthly allocation is used up; move the message to the next provider.
- `ProviderRejected`: the provider refuses this number or this content; final for the message.

A timeout after the request was sent is still a `ProviderConnectionError` (retryable): the provider may or may
not have accepted it, and the adapter cannot know. `reference` (our message id) is sent along where the
provider accepts one, for correlation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.db import models


class ProviderError(Exception):
    """Base of every adapter error; the engine branches on the subclass and on `retryable`."""

    retryable: ClassVar[bool] = False
    default_code: ClassVar[str] = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.http_status = http_status
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ProviderConfigError(ProviderError):
    """Credentials or configuration are wrong; every message on this route would fail the same way."""

    retryable = False
    default_code = "provider_config"


class ProviderConnectionError(ProviderError):
    """Network failure, timeout or provider-side 5xx: the same request may succeed later."""

    retryable = True
    default_code = "provider_unavailable"


class ProviderRateLimited(ProviderError):
    """The provider throttled us; `retry_after` (seconds) is set when the provider said how long to wait."""

    retryable = True
    default_code = "provider_rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderQuotaExhausted(ProviderError):
    """The route has used its monthly allocation (or has no credits): send through the next provider."""

    retryable = False
    default_code = "provider_quota_exhausted"


class ProviderRejected(ProviderError):
    """The provider refuses this recipient or this content: retrying or rerouting will not help."""

    retryable = False
    default_code = "provider_rejected"


class DeliveryState(models.TextChoices):
    """Provider-neutral state of one message as the provider reports it."""

    # Accepted by the provider, not yet handed to the network.
    ACCEPTED = "accepted", "Accepted"
    # Handed to the mobile network; no handset receipt yet.
    SENT = "sent", "Sent"
    # The handset confirmed receipt.
    DELIVERED = "delivered", "Delivered"
    # The network or provider gave up on it.
    FAILED = "failed", "Failed"
    # The validity period ran out before delivery.
    EXPIRED = "expired", "Expired"
    # Refused by the provider or network (bad number, blocked content).
    REJECTED = "rejected", "Rejected"
    # The provider answered with a state we do not recognise.
    UNKNOWN = "unknown", "Unknown"


@dataclass(frozen=True)
class OutboundSMS:
    """One message handed to an adapter. `recipient` is E.164 (+639XXXXXXXXX); `reference` is our own id."""

    recipient: str
    body: str
    reference: str


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_message_id: str
    recipient: str
    reference: str
    state: DeliveryState = DeliveryState.ACCEPTED
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery state for one provider message, from a status poll or a callback."""

    provider_message_id: str
    state: DeliveryState
    error_code: str = ""
    error_message: str = ""
    occurred_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_DELIVERY_STATES


FINAL_DELIVERY_STATES = frozenset(
    {DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.EXPIRED, DeliveryState.REJECTED}
)


class ProviderAdapter:
    """Base class of provider adapters; subclasses are listed in `settings.SMS_PROVIDER_ADAPTERS`.

    Adapters hold no database state and are cheap to build; each instance owns one `requests.Session`, so
    build one per worker/batch and call `close()` when done (or use it as a context manager).
    """

    code: ClassVar[str] = ""
    label: ClassVar[str] = ""
    supports_bulk: ClassVar[bool] = False
    max_bulk: ClassVar[int] = 1
    supports_delivery_callbacks: ClassVar[bool] = False
    supports_status_polling: ClassVar[bool] = False
    # Reports the handset's receipt ("delivered"); a provider whose last state for a good message is "sent"
    # (Semaphore) leaves its messages `sent` for good, so they count neither as delivered nor as on their way.
    reports_handset_delivery: ClassVar[bool] = True
    # Can list what it accepted (`find_sent`): lets crash recovery learn whether a hand-over arrived.
    supports_sent_lookup: ClassVar[bool] = False
    # Sends under the sender name it is given (an organization's approved name); otherwise every message goes out
    # under the route's own name, whatever the organization asked for.
    supports_custom_sender_name: ClassVar[bool] = False
    # Keys expected in `credentials`; the admin form and `check_config()` use them.
    credential_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, base_url: str, credentials: dict[str, Any], sender_name: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = dict(credentials or {})
        self.sender_name = sender_name
        self.timeout = timeout
        missing = [name for name in self.credential_fields if not self.credentials.get(name)]
        if missing:
            raise ProviderConfigError(
                f"{self.label or self.code} credentials are missing: {', '.join(missing)}",
                code="provider_credentials_missing",
            )

    def send(self, *, recipient: str, body: str, reference: str) -> SendResult:
        raise NotImplementedError

    def send_bulk(self, *, items: list[OutboundSMS]) -> list[SendResult | ProviderError]:
        """One outcome per item, in the same order. A per-message refusal is returned as that item's
        `ProviderRejected`. A route-wide error (config, quota, connection, rate limit) is raised when nothing
        was sent yet; once some items went out, it becomes the outcome of every item not yet sent."""
        results: list[SendResult | ProviderError] = []
        for item in items:
            try:
                results.append(self.send(recipient=item.recipient, body=item.body, reference=item.reference))
            except ProviderRejected as error:
                results.append(error)
            except ProviderError as error:
                if not results:
                    raise
                return results + [error] * (len(items) - len(results))
        return results

    def fetch_status(self, *, provider_message_id: str) -> DeliveryReport:
        raise NotImplementedError(f"{self.code} does not support status polling")

    def find_sent(self, *, recipient: str, body: str, since: datetime, memo: dict | None = None) -> list[SendResult]:
        """Every message to `recipient` with exactly `body` that the provider accepted since `since` (give or take
        a day: providers answer in dates), oldest first. Raises ProviderError when the provider cannot be asked.

        `memo`, when given, keeps what the provider listed between calls: one recovery run asks about every
        orphaned hand-over of a batch, and reading the provider's list once per attempt would be thousands of calls.
        """
        raise NotImplementedError(f"{self.code} cannot list the messages it accepted")

    def parse_callback(self, *, data: dict[str, Any], headers: dict[str, str]) -> list[DeliveryReport]:
        raise NotImplementedError(f"{self.code} does not support delivery callbacks")

    def remaining_credits(self) -> int | None:
        """Credits left at the provider, or None when the provider does not say."""
        return None

    def close(self) -> None:
        """Release network resources (the HTTP session)."""

    def __enter__(self) -> ProviderAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
