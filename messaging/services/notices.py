"""Site notices: published by staff or by the engine itself (the fallback route), withdrawn the same ways."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import audit_log_record
from messaging.dispatch.quota import provider_usage_this_month
from messaging.models import Notice, NoticeDismissal, NoticeKind, Provider
from messaging.routing import FALLBACK_REASONS, RouteState, SkipReason, choose_route, primary_of
from portal.errors import ApplicationError, NotFound


@transaction.atomic
def notice_publish(*, kind: str, title: str, body: str, dedupe_key: str, actor=None) -> Notice:
    """Publish a notice, or return the active one with the same `dedupe_key` (text refreshed if changed)."""
    if kind not in NoticeKind.values:
        raise ApplicationError(f"Unknown notice kind {kind!r}.", code="invalid_notice_kind")
    if not title.strip() or not body.strip() or not dedupe_key.strip():
        raise ApplicationError("A notice needs a title, a body and a dedupe key.", code="invalid_notice")
    active = Notice.objects.select_for_update().filter(dedupe_key=dedupe_key, withdrawn_at__isnull=True).first()
    if active is not None:
        if (active.title, active.body) != (title, body):
            active.title, active.body = title, body
            active.save(update_fields=["title", "body"])
        return active
    try:
        with transaction.atomic():
            notice = Notice.objects.create(kind=kind, title=title, body=body, dedupe_key=dedupe_key, published_by=actor)
    except IntegrityError:  # published concurrently by another worker: theirs is the one
        return Notice.objects.get(dedupe_key=dedupe_key, withdrawn_at__isnull=True)
    audit_log_record(event_type="notice.published", actor=actor, target=notice, extra={"dedupe_key": dedupe_key})
    return notice


@transaction.atomic
def notice_withdraw(*, dedupe_key: str, actor=None) -> None:
    """Withdraw the active notice with this key; nothing happens when none is active."""
    withdrawn = list(Notice.objects.select_for_update().filter(dedupe_key=dedupe_key, withdrawn_at__isnull=True))
    now = timezone.now()
    for notice in withdrawn:
        notice.withdrawn_at = now
        notice.withdrawn_by = actor
        notice.save(update_fields=["withdrawn_at", "withdrawn_by"])
        audit_log_record(event_type="notice.withdrawn", actor=actor, target=notice, extra={"dedupe_key": dedupe_key})


def fallback_dedupe_key(primary: Provider) -> str:
    return f"fallback-route:{primary.pk}"


def fallback_notice_text(*, primary: Provider, fallback: Provider | None, reason: str) -> tuple[str, str]:
    """Title and body of the fallback notice in the operator's wording (shared/seeds) for this primary."""
    if reason in (SkipReason.QUOTA, SkipReason.PROVIDER_LIMIT):
        cause = f"{primary.name} has reached its monthly limit."
    else:
        cause = f"{primary.name} is temporarily unavailable."
    sender = fallback.sender_name if fallback is not None else "the fallback route's sender name"
    covers_all = fallback is None or not fallback.networks
    networks = (
        "The fallback route supports all networks including Smart, TNT, Globe, TM, and others."
        if covers_all
        else f"The fallback route supports {', '.join(n.upper() for n in fallback.networks)}."
    )
    body = (
        f"{cause} The system will automatically use our new SMS source provider (fallback) to ensure "
        f"uninterrupted service.\n{networks}\n"
        f'Note: when using the fallback provider, messages will be sent with the sender name "{sender}" '
        f"instead of {primary.sender_name}.\n"
        "Your SMS service will continue to work seamlessly across all networks without interruption."
    )
    return "SMS Fallback Route", body


def fallback_notice_publish(*, primary: Provider, fallback: Provider | None, reason: str) -> Notice | None:
    """Tell customers that sending moved to the fallback route, unless staff withdrew this notice and the primary
    has not carried a message since: staff decide when customers need to hear it again (None is returned)."""
    latest = Notice.objects.filter(dedupe_key=fallback_dedupe_key(primary)).order_by("-published_at", "-id").first()
    if (
        latest is not None
        and latest.withdrawn_at is not None
        and latest.withdrawn_by_id is not None
        and (primary.last_success_at is None or primary.last_success_at < latest.withdrawn_at)
    ):
        return None
    title, body = fallback_notice_text(primary=primary, fallback=fallback, reason=reason)
    return notice_publish(
        kind=NoticeKind.FALLBACK_ROUTE, title=title, body=body, dedupe_key=fallback_dedupe_key(primary)
    )


def fallback_notice_withdraw(*, primary: Provider) -> None:
    notice_withdraw(dedupe_key=fallback_dedupe_key(primary))


def notice_refresh_fallback(*, now=None) -> bool:
    """Withdraw the fallback notice when the primary could take traffic again (new month, circuit closed, staff
    reset), even before a message proves it. Returns True when a notice was withdrawn."""
    now = now or timezone.now()
    providers = list(Provider.objects.filter(enabled=True).order_by("priority", "id"))
    active_keys = set(
        Notice.objects.filter(kind=NoticeKind.FALLBACK_ROUTE, withdrawn_at__isnull=True).values_list(
            "dedupe_key", flat=True
        )
    )
    if not active_keys:
        return False
    primary = primary_of([RouteState(provider=p, used_this_month=0) for p in providers])
    withdrawn = False
    for key in active_keys:
        if primary is None or key != fallback_dedupe_key(primary):
            notice_withdraw(dedupe_key=key)  # that provider is no longer the primary
            withdrawn = True
    if primary is None or fallback_dedupe_key(primary) not in active_keys:
        return withdrawn
    usage = provider_usage_this_month(providers=[primary], now=now)
    state = RouteState(provider=primary, used_this_month=usage[primary.pk])
    network = primary.networks[0] if primary.networks else "smart"
    decision = choose_route(chain=[state], network=network, now=now)
    # A half-open probe does not count: the notice stays until the probe proves the primary healthy.
    available = decision.state is not None and not decision.is_probe
    blocked = any(skip.reason in FALLBACK_REASONS for skip in decision.skipped)
    if available or (decision.state is None and not blocked):
        fallback_notice_withdraw(primary=primary)
        withdrawn = True
    return withdrawn


def notice_dismiss(*, user, notice_id: int) -> None:
    """Hide one notice from this person for good (every later sign-in too); a new notice (a new fallback) has a new
    id and shows again. Dismissing twice keeps the first time; a notice that does not exist is refused."""
    if not Notice.objects.filter(pk=notice_id).exists():
        raise NotFound("No such notice.")
    NoticeDismissal.objects.get_or_create(user=user, notice_id=notice_id)
