"""Templates (reusable texts with merge fields) and campaigns (a named bulk send and the messages it created).

A campaign is sent to contact groups (or from a CSV upload, `messaging.csv_import`). Confirming it creates and
charges its messages (in the background, in batches), each linked back through `Message.campaign`; a scheduled
campaign's messages wait for `send_at`, so cancelling before then refunds every one of them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.tenancy import TenantManager


class MessageTemplate(models.Model):
    """A text the organization reuses; `{name}` and any contact or CSV field are filled in per recipient."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="template_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # composed, previewable; nothing created or charged
    QUEUED = "queued", "Preparing"  # confirmed: the background task is creating and charging its messages
    SCHEDULED = "scheduled", "Scheduled"  # every message created, waiting for send_at
    SENDING = "sending", "Sending"  # every message created and due: the dispatch worker is sending them
    STOPPED = "stopped", "Stopped"  # a batch was refused (e.g. credits ran out); later recipients were not sent
    CANCELLED = "cancelled", "Cancelled"  # cancelled before it started: its queued messages were refunded


class CampaignSource(models.TextChoices):
    GROUPS = "groups", "Contact groups"
    CSV = "csv", "CSV upload"


class Campaign(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    source = models.CharField(max_length=10, choices=CampaignSource.choices, default=CampaignSource.GROUPS)
    channel = models.CharField(max_length=10, default="dashboard", help_text="Channel of its messages")
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(help_text="The text with its merge fields, as it was when the campaign was composed")
    groups = models.ManyToManyField("messaging.ContactGroup", blank=True, related_name="campaigns")
    sender_name = models.CharField(max_length=11, blank=True)
    send_at = models.DateTimeField(null=True, blank=True, help_text="Empty: as soon as it is confirmed")
    send_to_duplicates = models.BooleanField(
        default=False, help_text="Send once per occurrence when a number appears more than once"
    )
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    # Fixed when the campaign is confirmed: the contacts to send to, in order, duplicates already left out unless
    # `send_to_duplicates` (ids only; the numbers stay in the contacts). The task resumes after `recipients_done`.
    contact_ids = models.JSONField(default=list, blank=True)
    recipients_total = models.PositiveIntegerField(default=0)
    recipients_done = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(default=0)
    merge_errors = models.PositiveIntegerField(default=0, help_text="Recipients left out for an unknown/empty field")
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="campaign_org_created_idx")]

    def __str__(self) -> str:
        return self.name
