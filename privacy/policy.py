"""Policy versions: the operator's privacy policy as published, its changes and who acknowledged them.

A draft is edited in admin and published once; a published version is never edited, only superseded. A material
change e-mails every registered user in the background (`privacy.policy_notifications`), shows a banner until
each acknowledges it, and posts a notice to the API.
"""

from datetime import date
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from messaging.services.notices import notice_publish, notice_withdraw
from portal.errors import ApplicationError, Conflict, NotFound
from privacy.models import PolicyAcknowledgement, PolicyVersion
from privacy.policy_notifications import long_date
from privacy.requests.workflow import require_staff
from privacy.tasks import policy_notify_users_task

SEED_POLICY_PATH = Path(__file__).resolve().parent / "policy_seed" / "privacy_policy_v1.md"


@transaction.atomic
def privacy_seed_policy() -> PolicyVersion:
    """Load the operator's policy (Last Updated: November 30, 2025) as version 1; a second call changes
    nothing."""
    existing = PolicyVersion.objects.filter(version=1).first()
    if existing is not None:
        return existing
    policy = PolicyVersion.objects.create(
        version=1,
        title="Privacy Policy",
        body_markdown=SEED_POLICY_PATH.read_text(encoding="utf-8"),
        last_updated=date(2025, 11, 30),
        effective_date=date(2025, 11, 30),
        material_change=False,
        summary_of_changes="First published version.",
        published_at=timezone.now(),
    )
    audit_log_record(event_type="privacy.policy_seeded", target=policy)
    return policy


@transaction.atomic
def policy_publish(*, policy_version: PolicyVersion, actor: User | None) -> PolicyVersion:
    """Publish a draft. A material change e-mails every registered user (background, batched), shows a banner
    until each acknowledges it, and posts a notice to the API."""
    if actor is not None:
        require_staff(actor)
    policy = PolicyVersion.objects.select_for_update().get(pk=policy_version.pk)
    if policy.published_at is not None:
        raise Conflict(f"Version {policy.version} is already published.", code="already_published")
    newer = PolicyVersion.objects.filter(published_at__isnull=False, version__gte=policy.version).first()
    if newer is not None:
        raise Conflict(f"Version {newer.version} is already published; publish a higher version.", code="version_order")
    if not policy.body_markdown.strip():
        raise ApplicationError("The policy text is empty.", code="empty_policy")
    policy.published_at = timezone.now()
    policy.published_by = actor
    policy.save(update_fields=["published_at", "published_by"])
    audit_log_record(
        event_type="privacy.policy_published",
        actor=actor,
        target=policy,
        extra={"material": policy.material_change},
    )
    if policy.material_change:
        for earlier in PolicyVersion.objects.filter(material_change=True, version__lt=policy.version).values_list(
            "version", flat=True
        ):
            notice_withdraw(dedupe_key=f"privacy_policy:v{earlier}", actor=actor)

        summary = policy.summary_of_changes.strip() or "We changed how we handle your personal data."
        notice_publish(
            kind="privacy_policy",
            title=f"Privacy Policy updated (Last Updated: {long_date(policy.last_updated)})",
            body=f"{summary}\nRead it at {settings.SITE_URL}{reverse('privacy:policy')}",
            dedupe_key=f"privacy_policy:v{policy.version}",
            actor=actor,
        )
        transaction.on_commit(partial(policy_notify_users_task.enqueue, policy_version_id=policy.pk))
    return policy


@transaction.atomic
def policy_acknowledge(*, user: User, policy_version: PolicyVersion, ip: str | None) -> PolicyAcknowledgement:
    if policy_version.published_at is None:
        raise NotFound("No such policy version.")
    acknowledgement, created = PolicyAcknowledgement.objects.get_or_create(
        user=user, policy_version=policy_version, defaults={"ip_address": ip}
    )
    if created:
        audit_log_record(event_type="privacy.policy_acknowledged", actor=user, target=policy_version, extra={"ip": ip})
    return acknowledgement


# --- reads ---


def policy_current(*, today=None) -> PolicyVersion | None:
    today = today or timezone.localdate()
    return (
        PolicyVersion.objects.filter(published_at__isnull=False, effective_date__lte=today).order_by("-version").first()
    )


def policy_list_published() -> QuerySet[PolicyVersion]:
    return PolicyVersion.objects.filter(published_at__isnull=False).order_by("-version")


def policy_get_published(*, version: int) -> PolicyVersion:
    policy = policy_list_published().filter(version=version).first()
    if policy is None:
        raise NotFound(f"No published policy version {version}.")
    return policy


def policy_pending_acknowledgement(*, user: User) -> PolicyVersion | None:
    """The newest material change the user has not acknowledged (published after they joined). One query."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        PolicyVersion.objects.filter(
            published_at__isnull=False, material_change=True, published_at__gt=user.date_joined
        )
        .exclude(acknowledgements__user=user)
        .order_by("-version")
        .first()
    )
