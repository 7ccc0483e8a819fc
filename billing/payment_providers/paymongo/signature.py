"""PayMongo's webhook signature: `Paymongo-Signature: t=<unix time>,te=<test mode signature>,li=<live mode signature>`.

Each signature is the hex HMAC-SHA256 of `"<t>.<raw request body>"` keyed with the webhook's secret; a live-mode
event is checked against `li`, a test-mode one against `te`. The timestamp must be within the tolerance of now, so
a delivery recorded and sent again later is refused; a delivery repeated within the tolerance is signed correctly
and is made harmless by the event id (billing keeps every event id it has handled).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from billing.payment_providers.base import WebhookVerificationError

HEADER = "Paymongo-Signature"


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, livemode: bool, timestamp: int | None = None) -> str:
    """The header PayMongo sends (the simulator signs with this): the mode not in use has an empty signature."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = signature_compute(secret=secret, timestamp=timestamp, body=body)
    return f"t={timestamp},te={'' if livemode else signature},li={signature if livemode else ''}"


def signature_verify(
    *, header: str | None, body: bytes, secret: str, livemode: bool, tolerance_seconds: int, now: float | None = None
) -> int:
    """Check a delivery's signature and age; returns its timestamp or raises WebhookVerificationError."""
    if not secret:
        raise WebhookVerificationError("No webhook secret is configured; every delivery is refused.")
    if not header:
        raise WebhookVerificationError(f"The {HEADER} header is missing.")
    parts: dict[str, str] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts[key] = value
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        raise WebhookVerificationError(f"The {HEADER} header has no timestamp.") from None
    given = parts.get("li" if livemode else "te", "")
    if not given:
        raise WebhookVerificationError(f"The {HEADER} header has no {'live' if livemode else 'test'} mode signature.")
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected, given):
        raise WebhookVerificationError("The webhook signature does not match.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise WebhookVerificationError(
            f"The webhook was signed {int(now - timestamp)} s ago, outside the {tolerance_seconds} s tolerance."
        )
    return timestamp
