"""Factories and fixtures for the tests of the data side (exports, erasure, retention, registry, objections)."""

from __future__ import annotations

import io
import secrets
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import APIRequestLog, AuditLog, LoginRecord
from messaging.models import Message, MessageStatus, OtpChallenge
from privacy.requests.models import DataSubjectRequest, RequestKind, RequestStatus

ALICE_EMAIL = "alice.santos@example.ph"
ALICE_PHONE = "+639171234567"
BOB_EMAIL = "bob.reyes@example.ph"
BOB_PHONE = "+639189876543"
RECIPIENT_PHONE = "+639175550101"


@pytest.fixture
def private_root(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


def make_message(organization, recipient: str, body: str = "Your order has shipped", *, created_by=None, **extra):
    defaults = {
        "network": "smart",
        "sender_name": "ALPHA",
        "encoding": "gsm7",
        "segments": 1,
        "channel": "api",
        "status": MessageStatus.DELIVERED,
    }
    defaults.update(extra)
    return Message.objects.create(
        organization=organization, recipient=recipient, body=body, created_by=created_by, **defaults
    )


def make_login(user, *, ip="203.0.113.7", agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", **extra):
    return LoginRecord.objects.create(
        user=user,
        email_attempted=user.email,
        succeeded=True,
        ip_address=ip,
        user_agent=agent,
        browser="Firefox 128",
        operating_system="Linux",
        device="Computer",
        **extra,
    )


def make_api_log(user, organization, **extra):
    return APIRequestLog.objects.create(
        organization=organization,
        user=user,
        method="GET",
        path="/api/v1/messages",
        status_code=200,
        duration_ms=12,
        ip_address="198.51.100.9",
        **extra,
    )


def make_request(*, kind=RequestKind.ACCESS, user=None, email="", phone_number="", objections=None, **extra):
    now = timezone.now()
    return DataSubjectRequest.objects.create(
        kind=kind,
        status=extra.pop("status", RequestStatus.IN_PROGRESS),
        channel="privacy_centre" if user else "public_form",
        user=user,
        full_name=extra.pop("full_name", ""),
        email=email or (user.email if user else ""),
        phone_number=phone_number,
        objections=objections or [],
        verification_method=extra.pop("verification_method", "account" if user else "email"),
        verified_at=now,
        status_token_hash=secrets.token_hex(32),
        first_response_due_at=now + timedelta(days=15),
        due_at=now + timedelta(days=30),
        **extra,
    )


def populate_person(user, organization, other_org=None, *, phone=ALICE_PHONE):
    """Everything a typical account holder leaves behind, in both organizations."""
    make_login(user)
    make_api_log(user, organization)
    make_message(organization, phone, f"Hi {user.full_name}, your code is 1234")
    make_message(organization, BOB_PHONE, "Sent by the user to Bob", created_by=user)
    if other_org is not None:
        make_message(other_org, phone, "Clinic appointment tomorrow at 9")
    OtpChallenge.objects.create(
        organization=organization, phone_number=phone, code_hash="x" * 64, expires_at=timezone.now()
    )
    AuditLog.objects.create(
        organization=organization,
        actor=None,
        event_type="invitation.created",
        extra_data={"email": user.email},
    )


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def money(value: str) -> Decimal:
    return Decimal(value)
