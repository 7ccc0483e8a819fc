"""E-mails to every registered user about a material change of the privacy policy: batched, resumable, and
finished by a periodic job when a run stopped part-way (mail server down, worker restart)."""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from privacy.models import PolicyVersion
from privacy.requests.correspondence import staff_alert_recipients

logger = logging.getLogger(__name__)


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def policy_notify_users(*, policy_version_id: int) -> int:
    """E-mail every active registered user about a material change, in batches (one `send_mass_mail` each).

    Resumable: after each batch the last user reached is recorded, so a run that stopped (SMTP outage, a worker
    restart) continues where it stopped and nobody gets the e-mail twice. Returns how many were sent by this run.
    """
    policy = PolicyVersion.objects.get(pk=policy_version_id)
    if policy.notified_at is not None:
        return 0
    batch_size = settings.PRIVACY_POLICY_EMAIL_BATCH_SIZE
    subject = f"Our Privacy Policy has changed (Last Updated: {long_date(policy.last_updated)})"
    body = (
        f"We updated our Privacy Policy (version {policy.version}, effective "
        f"{long_date(policy.effective_date)}).\n\n"
        f"{policy.summary_of_changes.strip()}\n\nRead it: {settings.SITE_URL}{reverse('privacy:policy')}\n"
        "Your continued use of our services after the changes become effective constitutes acceptance.\n"
    )
    users = User.objects.filter(is_active=True).order_by("pk")
    if policy.notified_through_user_id is not None:
        users = users.filter(pk__gt=policy.notified_through_user_id)
    sent = 0
    batch: list[tuple[int, str]] = []

    def flush() -> int:
        count = send_mass_mail([(subject, body, None, [email]) for _, email in batch], fail_silently=False)
        PolicyVersion.objects.filter(pk=policy.pk).update(
            notified_count=F("notified_count") + count, notified_through_user_id=batch[-1][0]
        )
        return count

    for user_id, email in users.values_list("pk", "email").iterator(chunk_size=batch_size):
        batch.append((user_id, email))
        if len(batch) >= batch_size:
            sent += flush()
            batch = []
    if batch:
        sent += flush()
    PolicyVersion.objects.filter(pk=policy.pk).update(notified_at=timezone.now())
    return sent


def policy_notifications_resume(*, now: datetime | None = None) -> int:
    """Periodic: finish the e-mails of any published material change whose run stopped part-way. A run that
    fails again tells staff. Returns how many e-mails went out."""
    now = now or timezone.now()
    unfinished = PolicyVersion.objects.filter(
        material_change=True,
        published_at__isnull=False,
        published_at__lte=now - timedelta(minutes=15),
        notified_at__isnull=True,
    ).values_list("pk", "version")
    sent = 0
    for pk, version in unfinished:
        try:
            sent += policy_notify_users(policy_version_id=pk)
        except Exception as exc:  # an SMTP outage: try again next hour, and say so
            logger.exception("policy %s e-mails stopped again", version)
            send_mail(
                f"Privacy policy version {version}: change e-mails are not going out",
                f"The e-mail to users about the policy change stopped: {type(exc).__name__}: {exc}\n"
                "It resumes by itself every hour where it stopped; check the mail server.",
                None,
                staff_alert_recipients(),
                fail_silently=True,
            )
    return sent
