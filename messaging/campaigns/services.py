"""Writes of templates and campaigns: compose, confirm (its messages are created and charged in the background,
in batches of up to 1,000), cancel before it starts (every queued message refunded), one transaction each."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_tasks import task

from accounts.models import Organization
from accounts.services import audit_log_record, require_active_organization
from messaging.campaigns.merge import render
from messaging.campaigns.models import Campaign, CampaignSource, CampaignStatus, MessageTemplate
from messaging.campaigns.preview import (
    campaign_preview,
    contact_values,
    contacts_by_id,
    group_contact_ids,
    known_fields,
)
from messaging.contacts.models import ContactGroup
from messaging.contacts.selectors import groups_get
from messaging.enqueue import enqueue_on_commit
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.services.db import lock_rows
from messaging.services.sending import MAX_SCHEDULE_AHEAD, message_send
from messaging.services.status import message_finalize
from messaging.services.webhooks import webhook_events_record
from portal.errors import ApplicationError, Conflict, NotFound
from portal.queues import TaskQueue

CAMPAIGN_RUN_TASK = "messaging.campaigns.services.campaign_run"
# A confirmed campaign that has created no message for this long has lost its background run (an enqueue that
# failed after the confirmation committed, a worker that stopped mid-campaign). A batch takes seconds.
CAMPAIGN_STALLED_AFTER = timedelta(minutes=5)


# --- templates ---


def _template_fields(name: str, body: str) -> tuple[str, str]:
    name = (name or "").strip()[:80]
    if not name:
        raise ApplicationError("A template needs a name.", code="invalid_template")
    if not (body or "").strip():
        raise ApplicationError("The template's text is empty.", code="empty_body")
    if len(body) > settings.SMS_MAX_BODY_CHARACTERS:
        raise ApplicationError(
            f"The text has {len(body)} characters; the limit is {settings.SMS_MAX_BODY_CHARACTERS}.",
            code="body_too_long",
        )
    return name, body


@transaction.atomic
def template_create(*, organization, actor=None, name: str, body: str) -> MessageTemplate:
    require_active_organization(organization=organization)
    name, body = _template_fields(name, body)
    try:
        with transaction.atomic():
            template = MessageTemplate.objects.create(organization=organization, name=name, body=body)
    except IntegrityError:
        raise Conflict(f"There is already a template named {name!r}.", code="duplicate_template")
    audit_log_record(event_type="template.created", organization=organization, actor=actor, target=template)
    return template


def _template(organization, template_id: int) -> MessageTemplate:
    template = MessageTemplate.objects.for_organization(organization).filter(pk=template_id).first()
    if template is None:
        raise NotFound("No such template.")
    return template


@transaction.atomic
def template_update(*, organization, actor=None, template_id: int, name: str, body: str) -> MessageTemplate:
    template = _template(organization, template_id)
    template.name, template.body = _template_fields(name, body)
    template.updated_at = timezone.now()
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise Conflict(f"There is already a template named {template.name!r}.", code="duplicate_template")
    return template


@transaction.atomic
def template_delete(*, organization, actor=None, template_id: int) -> None:
    _template(organization, template_id).delete()
    audit_log_record(event_type="template.deleted", organization=organization, actor=actor, extra={"id": template_id})


# --- campaigns ---


def _validate_send_at(send_at: datetime | None) -> datetime | None:
    if send_at is None:
        return None
    if timezone.is_naive(send_at):
        raise ApplicationError("send_at needs a time zone (e.g. 2026-12-01T09:00:00+08:00).", code="invalid_send_at")
    now = timezone.now()
    if send_at <= now:
        raise ApplicationError(
            "The send time has passed; choose a later one or leave it empty.", code="invalid_send_at"
        )
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise ApplicationError("A campaign can be scheduled at most 90 days ahead.", code="invalid_send_at")
    return send_at


@transaction.atomic
def campaign_create(
    *,
    organization: Organization,
    actor=None,
    api_key=None,
    name: str,
    group_ids: list[int],
    body: str = "",
    template_id: int | None = None,
    sender_name: str = "",
    send_at: datetime | None = None,
    send_to_duplicates: bool = False,
) -> Campaign:
    """A draft campaign to contact groups: previewable, nothing created or charged until it is confirmed.

    The text is the template's (copied: editing the template later does not change the campaign) or `body`."""
    require_active_organization(organization=organization)
    name = (name or "").strip()[:120]
    if not name:
        raise ApplicationError("A campaign needs a name.", code="invalid_campaign")
    if not group_ids:
        raise ApplicationError("Choose at least one contact group.", code="invalid_campaign")
    groups = groups_get(organization=organization, group_ids=group_ids)
    template = _template(organization, template_id) if template_id else None
    if template is not None and not (body or "").strip():
        body = template.body
    _template_fields(name, body)
    campaign = Campaign.objects.create(
        organization=organization,
        name=name,
        source=CampaignSource.GROUPS,
        channel=MessageChannel.API if api_key is not None else MessageChannel.DASHBOARD,
        template=template,
        body=body,
        sender_name=(sender_name or "")[:11],
        send_at=_validate_send_at(send_at),
        send_to_duplicates=bool(send_to_duplicates),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    campaign.groups.add(*groups)  # a new campaign: nothing to replace
    audit_log_record(
        event_type="campaign.created", organization=organization, actor=actor, api_key=api_key, target=campaign
    )
    return campaign


def _locked(organization, campaign_id: int) -> Campaign:
    campaign = lock_rows(Campaign.objects.for_organization(organization)).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


@transaction.atomic
def campaign_confirm(
    *, organization, actor=None, api_key=None, campaign_id: int, send_to_duplicates: bool | None = None
) -> Campaign:
    """Fix the recipients (the groups' contacts now, without duplicates unless asked, without recipients whose
    merge fields are unknown or empty) and create the messages in the background. Confirming twice is a 409.

    `send_to_duplicates`, when given, is the customer's last word from the preview (else the composed choice)."""
    require_active_organization(organization=organization)
    campaign = _locked(organization, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict("This campaign was already confirmed.", code="already_confirmed")
    if send_to_duplicates is not None:
        campaign.send_to_duplicates = send_to_duplicates
    if campaign.send_at is not None and campaign.send_at <= timezone.now():
        raise ApplicationError("The send time has passed; compose the campaign again.", code="invalid_send_at")
    groups = list(ContactGroup.objects.for_organization(organization).filter(campaigns=campaign).order_by("id"))
    preview = campaign_preview(
        organization=organization,
        body=campaign.body,
        contact_ids=group_contact_ids(groups=groups),
        send_to_duplicates=campaign.send_to_duplicates,
        rows_shown=0,
    )
    if not preview.sendable:
        raise ApplicationError("No recipient can be sent this text; see the preview.", code="nothing_to_send")
    campaign.contact_ids = preview.contact_ids
    campaign.recipients_total = preview.sendable
    campaign.duplicates_skipped = preview.duplicates
    campaign.merge_errors = preview.merge_errors
    campaign.status = CampaignStatus.QUEUED
    campaign.confirmed_at = timezone.now()
    campaign.save()
    audit_log_record(
        event_type="campaign.confirmed",
        organization=organization,
        actor=actor,
        api_key=api_key,
        target=campaign,
        extra={"recipients": preview.sendable, "price": str(preview.price_total)},
    )
    enqueue_on_commit(CAMPAIGN_RUN_TASK, campaign_id=campaign.pk)
    return campaign


def _send_batch(campaign_id: int, organization, actor) -> bool:
    """Create and charge the next batch of a confirmed campaign; False when there is nothing more to do."""
    with transaction.atomic():
        campaign = _locked(organization, campaign_id)
        if campaign.status != CampaignStatus.QUEUED:
            return False  # cancelled meanwhile, or already finished by another run
        start = campaign.recipients_done
        batch_ids = campaign.contact_ids[start : start + settings.SMS_MAX_RECIPIENTS_PER_REQUEST]
        if not batch_ids:
            now = timezone.now()
            campaign.status = (
                CampaignStatus.SCHEDULED if campaign.send_at and campaign.send_at > now else CampaignStatus.SENDING
            )
            campaign.save(update_fields=["status"])
            return False
        contacts = next(contacts_by_id(organization=organization, contact_ids=batch_ids), {})
        known = known_fields(contacts.values())
        numbers, bodies = [], []
        for contact_id in batch_ids:
            contact = contacts.get(contact_id)
            rendered = render(campaign.body, contact_values(contact), known=known) if contact else None
            if rendered is None or rendered.error:  # deleted or changed since the confirmation
                campaign.merge_errors += 1
                continue
            numbers.append(contact.phone_number)
            bodies.append(rendered.text)
        if numbers:
            message_send(
                organization=organization,
                actor=actor,
                recipients=numbers,
                body=bodies[0],
                bodies=bodies,
                sender_name=campaign.sender_name or None,
                send_at=campaign.send_at,
                channel=campaign.channel,
                campaign=campaign,
            )
        campaign.recipients_done = start + len(batch_ids)
        campaign.save(update_fields=["recipients_done", "merge_errors"])
    return True


def campaign_process(*, campaign_id: int) -> Campaign:
    """Create the messages of a confirmed campaign, batch by batch (each batch one transaction and one charge).

    Safe to run again: it resumes after the last batch that committed. A refused batch (credits ran out, the
    organization was suspended) stops the campaign; recipients after it get nothing and pay nothing."""
    # The worker acts for the campaign's organization, known only from the campaign it was given.
    campaign = Campaign.objects.unscoped().select_related("organization", "created_by").get(pk=campaign_id)
    organization = campaign.organization
    try:
        while _send_batch(campaign_id, organization, campaign.created_by):
            pass
    except ApplicationError as exc:
        with transaction.atomic():
            campaign = _locked(organization, campaign_id)
            if campaign.status == CampaignStatus.QUEUED:
                campaign.status = CampaignStatus.STOPPED
                campaign.error_message = exc.message
                campaign.save(update_fields=["status", "error_message"])
    return Campaign.objects.for_organization(organization).get(pk=campaign_id)


@task(queue_name=TaskQueue.SEND)
def campaign_run(*, campaign_id: int) -> dict:
    """Background part of a campaign (enqueued after the confirmation commits)."""
    campaign = campaign_process(campaign_id=campaign_id)
    return {"status": campaign.status, "done": campaign.recipients_done}


def campaigns_resume_stalled(*, now: datetime | None = None) -> int:
    """Run again every confirmed campaign whose messages stopped being created (see CAMPAIGN_STALLED_AFTER); how
    many. A run resumes after the last batch that committed, and each batch takes the campaign's row lock: beside
    a run that was only slow and is still going, the two take the batches in turn, none twice. CSV campaigns are
    left to their upload's own run (`messaging.csv_import`)."""
    cutoff = (now or timezone.now()) - CAMPAIGN_STALLED_AFTER
    # A maintenance job across every organization: the tenancy bypass is named.
    recent_message = Message.objects.unscoped().filter(campaign=OuterRef("pk"), created_at__gte=cutoff)
    stalled = list(
        Campaign.objects.unscoped()
        .filter(status=CampaignStatus.QUEUED, source=CampaignSource.GROUPS, confirmed_at__lt=cutoff)
        .exclude(Exists(recent_message))
        .values_list("pk", flat=True)
    )
    for campaign_id in stalled:
        enqueue_on_commit(CAMPAIGN_RUN_TASK, campaign_id=campaign_id)
    return len(stalled)


@task(queue_name=TaskQueue.MAINTENANCE)
def campaigns_resume() -> int:
    """Periodic: confirmed campaigns whose background run was lost get another."""
    return campaigns_resume_stalled()


def campaign_can_cancel(campaign: Campaign, *, now: datetime | None = None) -> bool:
    """Before it starts: a draft, or a scheduled campaign whose send time has not come."""
    if campaign.status == CampaignStatus.DRAFT:
        return True
    now = now or timezone.now()
    waiting = (CampaignStatus.QUEUED, CampaignStatus.SCHEDULED, CampaignStatus.STOPPED)
    return campaign.status in waiting and campaign.send_at is not None and campaign.send_at > now


@transaction.atomic
def campaign_cancel(*, organization, actor=None, api_key=None, campaign_id: int) -> int:
    """Cancel a campaign before it starts and refund every message it created (the one refund rule,
    `message_finalize`). Returns how many messages were cancelled; a campaign already going out is a 409."""
    campaign = _locked(organization, campaign_id)
    now = timezone.now()
    if not campaign_can_cancel(campaign, now=now):
        raise Conflict(
            "This campaign has started (or ended); its queued messages can still be cancelled one by one.",
            code="not_cancellable",
        )
    messages = list(
        lock_rows(Message.objects.for_organization(organization))
        .select_related("organization")
        .filter(campaign=campaign, status=MessageStatus.QUEUED)
    )
    for message in messages:
        message_finalize(
            message,
            MessageStatus.CANCELLED,
            now=now,
            error_code="cancelled",
            error_message=f"Campaign “{campaign.name}” cancelled before sending; refunded."[:500],
        )
    Message.objects.for_organization(organization).bulk_update(
        messages, ["status", "status_changed_at", "cancelled_at", "error_code", "error_message"], batch_size=500
    )
    if messages:
        webhook_events_record(messages=messages)
    campaign.status = CampaignStatus.CANCELLED
    campaign.cancelled_at = now
    campaign.save(update_fields=["status", "cancelled_at"])
    audit_log_record(
        event_type="campaign.cancelled",
        organization=organization,
        actor=actor,
        api_key=api_key,
        target=campaign,
        extra={"messages_cancelled": len(messages)},
    )
    return len(messages)


@transaction.atomic
def campaign_csv_create(*, organization, actor=None, name: str, body: str, recipients: int) -> Campaign:
    """The campaign a confirmed CSV upload sends as (messaging.csv_import creates its messages)."""
    return Campaign.objects.create(
        organization=organization,
        name=(name or "").strip()[:120] or "CSV upload",
        source=CampaignSource.CSV,
        channel=MessageChannel.CSV,
        body=body or "",
        status=CampaignStatus.QUEUED,
        recipients_total=recipients,
        confirmed_at=timezone.now(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def campaign_csv_finish(*, organization, campaign_id: int, error_message: str = "") -> None:
    """A CSV campaign's messages are all created (or a batch was refused)."""
    Campaign.objects.for_organization(organization).filter(pk=campaign_id).update(
        status=CampaignStatus.STOPPED if error_message else CampaignStatus.SENDING, error_message=error_message
    )
