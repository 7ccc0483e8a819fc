"""Idempotency-Key for POSTs: the first answer is stored with a hash of the request and replayed for 24 hours;
the same key with a different request is a 409."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging.models import IdempotencyKey
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError, Conflict

MAX_KEY_LENGTH = 255


def idempotency_request_hash(*, method: str, path: str, data) -> str:
    canonical = json.dumps({"method": method, "path": path, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_lookup(*, organization, key: str, request_hash: str) -> IdempotencyKey | None:
    """The stored answer for this key (None when new or expired); 409 when the key was used for another
    request."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
        )
    stored = IdempotencyKey.objects.filter(organization=organization, key=key).first()
    if stored is None:
        return None
    if stored.expires_at <= timezone.now():
        stored.delete()
        return None
    if stored.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was already used with a different request.", code="idempotency_key_reused")
    return stored


def idempotency_store(*, organization, key: str, request_hash: str, status: int, body) -> IdempotencyKey:
    """Store the answer (call inside the transaction that made it: the unique constraint makes a concurrent
    duplicate roll back, and the caller then replays the winner's answer)."""
    now = timezone.now()
    return IdempotencyKey.objects.create(
        organization=organization,
        key=key,
        request_hash=request_hash,
        response_status=status,
        response_body=body,
        recipient_hashes=recipient_hashes_of(body),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SMS_IDEMPOTENCY_TTL_SECONDS),
    )


def recipient_hashes_of(body) -> str:
    """The lookup hashes of the numbers an answer names (each message's E.164 `to`), as " h1 h2 " so a whole hash
    is matched with `contains`; empty when it names none."""
    results = body.get("results") if isinstance(body, dict) else None
    numbers = {item.get("to") for item in results or [] if isinstance(item, dict) and item.get("to")}
    if not numbers:
        return ""
    return " " + " ".join(sorted(phone_lookup_hash(number) for number in numbers)) + " "


def idempotency_purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.unscoped().filter(expires_at__lte=timezone.now()).delete()
    return deleted
