"""Dormant accounts: nobody signed in for the retention rule's period. A notice goes first; an account still dormant
PRIVACY_DORMANT_NOTICE_DAYS after it is anonymised by an ordinary erasure (grace period, areas, ledger, holds).

Signing in again ends the dormancy: the notice was for a period of inactivity that is over (a later one gets its
own notice). Staff and accounts already erased are never counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.urls import reverse

from accounts.models import User
from privacy.data.erasure import erasure_job_create
from privacy.data.models import DormancyNotice, ErasureJob, ErasureStatus, SubjectKind

ERASED_EMAIL_SUFFIX = "@erased.invalid"


def _people() -> models.QuerySet[User]:
    return (
        User.objects.filter(is_active=True, is_staff=False, is_superuser=False)
        .exclude(email__endswith=ERASED_EMAIL_SUFFIX)
        .annotate(last_seen=Coalesce("last_login", "date_joined"))
    )


def dormant_since(cutoff: datetime) -> models.QuerySet[User]:
    return _people().filter(last_seen__lt=cutoff)


def dormancy_notices_send(*, cutoff: datetime, held_user_ids: set[int], dry_run: bool = False) -> int:
    """Notice to everyone who reaches `cutoff` within the notice period and was not told for this period."""
    notice_days = settings.PRIVACY_DORMANT_NOTICE_DAYS
    sent = 0
    for user in dormant_since(cutoff + timedelta(days=notice_days)).iterator(chunk_size=500):
        if user.pk in held_user_ids or DormancyNotice.objects.filter(user=user, inactive_since=user.last_seen).exists():
            continue
        sent += 1
        if dry_run:
            continue
        with transaction.atomic():
            DormancyNotice.objects.create(user=user, inactive_since=user.last_seen)
            transaction.on_commit(_notice_mail(user.email, notice_days))
    return sent


def _notice_mail(address: str, notice_days: int):
    sign_in = settings.SITE_URL + reverse("account_login")

    def send() -> None:
        send_mail(
            subject="Your account will be anonymised",
            message=(
                "Nobody has signed in to your account for a long time. Unless you sign in within "
                f"{notice_days} days, we will anonymise it: your name, e-mail address, phone number and sign-in "
                "history are erased, as our privacy policy's retention table says.\n\n"
                f"To keep your account, just sign in: {sign_in}\n"
            ),
            from_email=None,
            recipient_list=[address],
            fail_silently=True,
        )

    return send


def dormant_accounts_due(cutoff: datetime) -> models.QuerySet[User]:
    """Dormant past `cutoff`, told at least the notice period ago for this same period, not yet being erased."""
    told = DormancyNotice.objects.filter(erasure_job_id__isnull=True).values("user_id")
    return dormant_since(cutoff).filter(pk__in=told)


def dormant_accounts_anonymise(user_ids: list[int], *, now: datetime) -> int:
    """Start an erasure of each account (it runs after the grace period, like any erasure)."""
    started = 0
    notice_days = timedelta(days=settings.PRIVACY_DORMANT_NOTICE_DAYS)
    for user in _people().filter(pk__in=user_ids):
        notice = (
            DormancyNotice.objects.filter(user=user, inactive_since=user.last_seen, erasure_job_id__isnull=True)
            .filter(notified_at__lte=now - notice_days)
            .first()
        )
        if notice is None:
            continue  # signed in since the notice, or told too recently
        open_job = ErasureJob.objects.filter(
            user=user, status__in=[ErasureStatus.SCHEDULED, ErasureStatus.RUNNING, ErasureStatus.ON_HOLD]
        ).first()
        job = open_job or erasure_job_create(subject_kind=SubjectKind.USER, user=user)
        notice.erasure_job_id = job.pk
        notice.save(update_fields=["erasure_job_id"])
        started += 1
    return started
