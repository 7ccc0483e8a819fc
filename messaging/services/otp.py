"""One-time passwords: send a code in a template, keep only its keyed hash, verify with an attempt limit."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messaging.models import Message, MessageChannel, MessageStatus, OtpChallenge
from messaging.numbers import normalize_ph_number
from messaging.services.db import lock_rows
from messaging.services.sending import message_send
from portal.crypto import keyed_hash, phone_lookup_hash
from portal.errors import ApplicationError

OTP_PLACEHOLDER = ":otp"
# At most this many codes per number per organization in OTP_RATE_WINDOW (stops SMS pumping through the API).
OTP_RATE_LIMIT = 5
OTP_RATE_WINDOW = timedelta(minutes=15)


def _code_hash(*, organization_id: int, phone_number: str, code: str) -> str:
    return keyed_hash(f"{organization_id}:{phone_number}:{code}", purpose="otp")


@transaction.atomic
def otp_send(*, organization, phone_number: str, template: str, actor=None, api_key=None) -> OtpChallenge:
    """Generate a code, send `template` with ":otp" replaced by it (charged like any message), store its hash.

    A new challenge replaces the number's earlier ones (they stop verifying). The code is never returned and
    never stored readable: the message shows it masked, and the text for the provider is kept encrypted only
    until the code expires.
    """
    if not isinstance(template, str) or OTP_PLACEHOLDER not in template:
        raise ApplicationError('The template must contain ":otp" where the code goes.', code="invalid_otp_template")
    phone_number = normalize_ph_number(phone_number)
    phone_hash = phone_lookup_hash(phone_number)
    now = timezone.now()
    recent = OtpChallenge.objects.filter(
        organization=organization, phone_hash=phone_hash, created_at__gte=now - OTP_RATE_WINDOW
    ).count()
    if recent >= OTP_RATE_LIMIT:
        raise ApplicationError(
            f"Too many codes sent to {phone_number}; try again later.", code="otp_rate_limited", status=429
        )
    code = f"{secrets.randbelow(10**settings.SMS_OTP_LENGTH):0{settings.SMS_OTP_LENGTH}d}"
    body = template.replace(OTP_PLACEHOLDER, code)
    masked = template.replace(OTP_PLACEHOLDER, "*" * len(code))
    OtpChallenge.objects.filter(
        organization=organization, phone_hash=phone_hash, verified_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    [message] = message_send(
        organization=organization,
        actor=actor,
        api_key=api_key,
        recipients=[phone_number],
        body=masked,
        delivery_body=body,
        channel=MessageChannel.OTP,
    )
    return OtpChallenge.objects.create(
        organization=organization,
        phone_number=phone_number,
        code_hash=_code_hash(organization_id=organization.pk, phone_number=phone_number, code=code),
        message=message,
        max_attempts=settings.SMS_OTP_MAX_ATTEMPTS,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SMS_OTP_TTL_SECONDS),
    )


@transaction.atomic
def otp_verify(*, organization, phone_number: str, code: str) -> bool:
    """True once for the right code of the number's latest live challenge; every try counts, and a challenge
    stops answering True after `max_attempts` tries or its expiry. The comparison is constant-time."""
    phone_number = normalize_ph_number(phone_number)
    now = timezone.now()
    challenge = (
        lock_rows(OtpChallenge.objects)
        .filter(
            organization=organization,
            phone_hash=phone_lookup_hash(phone_number),
            verified_at__isnull=True,
            expires_at__gt=now,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if challenge is None or challenge.attempts >= challenge.max_attempts:
        return False
    challenge.attempts += 1
    candidate = _code_hash(organization_id=organization.pk, phone_number=phone_number, code=str(code).strip())
    valid = hmac.compare_digest(candidate, challenge.code_hash)
    if valid:
        challenge.verified_at = now
    challenge.save(update_fields=["attempts", "verified_at"])
    return valid


def otp_delivery_bodies_purge(*, now=None) -> int:
    """Forget the readable text of one-time-code messages once their code has expired and they are out of the
    queue. Returns how many messages were cleared."""
    now = now or timezone.now()
    return (
        Message.objects.unscoped()  # the purge job clears every organization's expired codes
        .filter(created_at__lt=now - timedelta(seconds=settings.SMS_OTP_TTL_SECONDS))
        .exclude(delivery_body="")
        .exclude(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
        .update(delivery_body="")
    )
