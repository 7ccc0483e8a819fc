"""Messages, the provider chain, dispatch attempts, site notices, status webhooks, OTP challenges, idempotency keys.

Outbound lifecycle of a `Message` (like RapidPro's Msg, with TextChoices instead of letters):

    QUEUED ──claim──> SENDING ──provider accepted──> SENT ──receipt──> DELIVERED
       │                 │                              └──receipt──> FAILED (refunded) / EXPIRED
       │                 ├──retryable error──> QUEUED (next_attempt_at = now + backoff, maybe another provider)
       │                 ├──provider refused the number/content──> REJECTED (refunded)
       │                 └──deadline passed──> FAILED (refunded)
       ├──cancelled before it was claimed──> CANCELLED (refunded)
       └──(never queued) opted-out recipient──> REJECTED (not charged)

Every hand-over to a provider is a `DispatchAttempt`, written and committed *before* the provider is called and
carrying the routing decision (which provider, with which sender name, which providers were skipped and why).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from messaging.campaigns.models import Campaign, CampaignStatus, MessageTemplate  # noqa: F401 (models of the app)
from messaging.contacts.models import Contact, ContactGroup, OptOut, Tag  # noqa: F401 (models of the app)
from messaging.models_dispatch import DispatchWake  # noqa: F401 (Django discovers models here)
from messaging.models_notices import NoticeDismissal  # noqa: F401 (Django discovers models here)
from messaging.models_sender import SenderName, SenderNameStatus  # noqa: F401 (Django discovers models here)
from messaging.models_stats import MessageDailyCount  # noqa: F401 (Django discovers models here)
from messaging.numbers import Network
from messaging.segments import Encoding
from portal.crypto import (
    PHONE_LOOKUP_PURPOSE,
    EncryptedTextField,
    FastEncryptedJSONField,
    FastEncryptedTextField,
    LookupHashField,
    LookupHashListField,
)
from portal.tenancy import TenantManager


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # stored and charged; waiting for the worker (or for its send_at)
    SENDING = "sending", "Sending"  # claimed by the worker: a dispatch attempt is in flight with a provider
    SENT = "sent", "Sent"  # accepted by the provider; waiting for a delivery receipt
    DELIVERED = "delivered", "Delivered"  # the handset confirmed receipt
    FAILED = "failed", "Failed"  # could not be sent, or the network gave up; refunded
    EXPIRED = (
        "expired",
        "Expired",
    )  # the network's validity period ran out after the provider took it; not refunded
    REJECTED = (
        "rejected",
        "Rejected",
    )  # never accepted: bad number/content, opted out; refunded if it was charged
    CANCELLED = "cancelled", "Cancelled"  # cancelled by the customer before it was sent; refunded


# States a delivery receipt may not move a message out of.
FINAL_MESSAGE_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.CANCELLED,
    }
)


class MessageChannel(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"  # typed into the send form
    API = "api", "API"  # POST /api/v1/messages
    CSV = "csv", "CSV upload"  # bulk upload on the dashboard
    OTP = "otp", "One-time password"  # sent by otp_send


class MessageType(models.TextChoices):
    """How the message was sent, in Semaphore's words (its message lists answer it as `type`)."""

    SINGLE = "single", "Single"  # one recipient
    BULK = "bulk", "Bulk"  # one text to several recipients, or any CSV upload
    PRIORITY = "priority", "Priority"  # Semaphore's /priority endpoint


class CircuitState(models.TextChoices):
    CLOSED = "closed", "Closed"  # healthy: takes traffic
    OPEN = "open", "Open"  # too many consecutive retryable failures: skipped until the cool-down ends
    HALF_OPEN = "half_open", "Half-open"  # cool-down over: one probe message is in flight to test it


def new_callback_secret() -> str:
    return secrets.token_urlsafe(24)


class Provider(models.Model):
    """One route in the provider chain, configured by staff. Chain order: ascending `priority`, then id."""

    name = models.CharField(max_length=60, unique=True)
    adapter = models.CharField(max_length=30, help_text="Adapter code, from settings.SMS_PROVIDER_ADAPTERS")
    base_url = models.URLField(max_length=300)
    credentials = EncryptedTextField(blank=True, default="", help_text="JSON object, encrypted at rest")
    sender_name = models.CharField(max_length=11, help_text="Sender name used on this route")
    networks = models.JSONField(default=list, blank=True, help_text="Network codes covered; empty = all networks")
    monthly_quota = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages per calendar month (Asia/Manila); empty = unlimited"
    )
    priority = models.PositiveIntegerField(default=100, help_text="Lower goes first in the chain")
    enabled = models.BooleanField(default=True)
    timeout_seconds = models.FloatField(default=10.0)
    callback_secret = models.CharField(
        max_length=64,
        default=new_callback_secret,
        help_text="Secret in the delivery-receipt URL given to the provider",
    )

    # Health: circuit breaker and the provider's own "limit reached" answer.
    circuit_state = models.CharField(max_length=12, choices=CircuitState.choices, default=CircuitState.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    circuit_opened_at = models.DateTimeField(null=True, blank=True)
    probe_started_at = models.DateTimeField(null=True, blank=True)
    exhausted_until = models.DateTimeField(
        null=True, blank=True, help_text="The provider said its monthly limit is reached; skipped until then"
    )
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sender_name})"

    def covers(self, network: str) -> bool:
        return not self.networks or network in self.networks


class ProviderMonthlyUsage(models.Model):
    """Messages handed to a provider in one calendar month (Asia/Manila). Reserved when a message is claimed for
    the provider and released if the provider did not take it, so concurrent workers never exceed the
    quota."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="monthly_usage")
    month = models.DateField(help_text="First day of the month, Asia/Manila")
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "month"], name="provider_usage_unique_month")]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.month:%Y-%m}: {self.messages}"


class Message(models.Model):
    # No index of its own for this key and `provider`: the composite indexes below lead with them. Each index
    # is written twice per message on its way out (queued -> sending -> sent), so none is kept twice.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    # The number and the text are encrypted at rest; lookups by number use `recipient_hash` (same E.164 input).
    recipient = FastEncryptedTextField(help_text="E.164, encrypted at rest")
    recipient_hash = LookupHashField(source="recipient", purpose=PHONE_LOOKUP_PURPOSE)
    network = models.CharField(max_length=10, choices=Network.choices)
    body = FastEncryptedTextField()
    # The blind index of `body` for the log's search (messaging.body_search): keyed hashes of its words, never
    # the words. Set where messages are built and cleared with the body.
    body_terms = models.TextField(blank=True, default="", editable=False)
    # A one-time code must not sit readable in logs, exports and webhooks: `body` masks it, and the real text waits
    # here, encrypted, only until the code has expired (messaging.tasks.purge_otp_delivery_bodies).
    delivery_body = EncryptedTextField(blank=True, default="", help_text="Text handed to the provider when not `body`")
    sender_name = models.CharField(max_length=11, help_text="The sender name it went (or will go) out with")
    requested_sender_name = models.CharField(max_length=11, blank=True)
    encoding = models.CharField(max_length=6, choices=Encoding.choices)
    segments = models.PositiveSmallIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    message_type = models.CharField(max_length=8, choices=MessageType.choices, default=MessageType.SINGLE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey("accounts.APIKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The named bulk send the message belongs to (messaging.campaigns); a single send has none.
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")

    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    provider_message_id = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)

    # Dispatch bookkeeping: claimable when status is queued and next_attempt_at has come.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_polled_at = models.DateTimeField(null=True, blank=True, help_text="Last delivery-status poll")

    created_at = models.DateTimeField(default=timezone.now)
    send_at = models.DateTimeField(null=True, blank=True, help_text="Scheduled send time; empty = now")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="message_org_created_idx"),
            models.Index(fields=["organization", "status", "-created_at"], name="message_org_status_idx"),
            # The log's `to=` filter: one recipient's messages, newest first, without scanning the organization's.
            models.Index(
                fields=["organization", "recipient_hash", "-created_at", "-id"], name="message_org_recipient_idx"
            ),
            models.Index(fields=["provider", "provider_message_id"], name="message_provider_msgid_idx"),
            # The worker's claim query: only queued rows are indexed, so finished rows are never rescanned.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="queued"),
                name="message_claimable_idx",
            ),
            # One-time codes ahead of bulk: the claim of `dispatch_otp` and the first claim of every dispatch round
            # find the due codes without walking a bulk backlog's queued rows.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="queued", channel="otp"),
                name="message_claimable_otp_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} to {self.recipient} ({self.status})"


class AttemptStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"  # committed before the provider call; outcome not yet written
    ACCEPTED = "accepted", "Accepted"  # the provider took the message
    RETRYABLE_ERROR = (
        "retryable_error",
        "Retryable error",
    )  # network/5xx/throttled: requeued with backoff; this provider may take it again once healthy
    ROUTE_EXHAUSTED = (
        "route_exhausted",
        "Route exhausted",
    )  # the provider said its limit is reached: next provider
    CONFIG_ERROR = (
        "config_error",
        "Configuration error",
    )  # route misconfigured: circuit opened, message requeued
    REJECTED = "rejected", "Rejected"  # the provider refused this number/content: the message is rejected
    FAILED = (
        "failed",
        "Failed on this route",
    )  # an answer retrying on this provider cannot fix (e.g. unreadable): the message goes to the next provider
    NO_ROUTE = "no_route", "No route"  # no provider could take it now (all skipped); retried later
    UNKNOWN = (
        "unknown",
        "Outcome unknown",
    )  # the worker died mid-call and the provider cannot be asked: staff decide
    ABANDONED = (
        "abandoned",
        "Abandoned",
    )  # in flight when the worker died, and the provider confirms it never got it


class DispatchAttempt(models.Model):
    """One hand-over of one message to one provider, and the routing decision behind it (stored, never
    recomputed)."""

    # Indexed by `attempt_message_provider_idx`, which leads with it.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="dispatch_attempts", db_index=False)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    attempt_number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.IN_FLIGHT)
    sender_name = models.CharField(max_length=11, blank=True)
    reason = models.CharField(max_length=200, blank=True, help_text="Why this provider took it")
    skipped = models.JSONField(default=list, blank=True, help_text="[{provider, name, reason, detail}] skipped first")
    batch_id = models.UUIDField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["message_id", "attempt_number"]
        indexes = [
            models.Index(fields=["started_at"], condition=Q(status="in_flight"), name="attempt_in_flight_idx"),
            models.Index(fields=["message", "provider", "status"], name="attempt_message_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.attempt_number} of message {self.message_id} via {self.provider_id}: " + self.status

    @property
    def reference(self) -> str:
        """What the provider is given as our reference for this hand-over (unique per attempt)."""
        return f"a{self.pk}"


class NoticeKind(models.TextChoices):
    FALLBACK_ROUTE = "fallback_route", "Fallback route"  # published by the engine when the primary is skipped
    ANNOUNCEMENT = "announcement", "Announcement"  # written by staff
    PRIVACY_POLICY = (
        "privacy_policy",
        "Privacy policy change",
    )  # published when a material policy version takes effect


class Notice(models.Model):
    """A site notice shown on every dashboard and returned by GET /api/v1/notices while it is active."""

    kind = models.CharField(max_length=20, choices=NoticeKind.choices, default=NoticeKind.ANNOUNCEMENT)
    title = models.CharField(max_length=120)
    body = models.TextField()
    dedupe_key = models.CharField(max_length=100, help_text="At most one active notice per key")
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-published_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(withdrawn_at__isnull=True),
                name="notice_one_active_per_key",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class WebhookEndpoint(models.Model):
    """Where an organization wants message status changes POSTed (one endpoint per organization)."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoint"
    )
    url = models.URLField(max_length=500)
    secret = EncryptedTextField(help_text="HMAC SHA-256 key for X-Portal-Signature")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    def __str__(self) -> str:
        return f"Webhook of {self.organization_id}: {self.url}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first or next try
    DELIVERED = "delivered", "Delivered"  # the customer's endpoint answered 2xx
    FAILED = "failed", "Failed"  # every try failed; given up


class WebhookDelivery(models.Model):
    """One status-change event for the customer's webhook, with its tries (the customer can read this log)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.CharField(max_length=40, default="message.status")
    # The payload repeats the message (its number and text): encrypted like them.
    payload = FastEncryptedJSONField()
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="webhook_delivery_org_idx"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"


class OtpChallenge(models.Model):
    """A one-time password sent to a phone. Only a keyed hash of the code is stored."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    phone_number = FastEncryptedTextField(help_text="E.164, encrypted at rest")
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE)
    code_hash = models.CharField(max_length=64)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "phone_hash", "-created_at"], name="otp_lookup_idx")]

    def __str__(self) -> str:
        return f"OTP for {self.phone_number} ({self.created_at:%Y-%m-%d %H:%M})"


class IdempotencyKey(models.Model):
    """The answer given to a POST with an Idempotency-Key, replayed for 24 hours."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # The answer repeats each message's number and text: stored encrypted, with the numbers' lookup hashes
    # (" h1 h2 ") beside it so an erasure by number still finds the row without reading the ciphertext.
    response_body = FastEncryptedJSONField()
    recipient_hashes = LookupHashListField(source="response_body")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="idempotency_key_unique_per_org")]

    def __str__(self) -> str:
        return f"{self.organization_id}:{self.key}"


class DeliveryReceipt(models.Model):
    """What a provider reported about one of its messages (callback or poll), kept as received.

    A receipt can arrive before the worker has written the provider's message id (the provider answers the send
    and fires the receipt at once); it is then stored unmatched and applied when the id is written.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    provider_message_id = models.CharField(max_length=100)
    state = models.CharField(max_length=12)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="receipts")
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["provider", "provider_message_id"], name="receipt_provider_msgid_idx"),
            models.Index(fields=["received_at"], condition=Q(message__isnull=True), name="receipt_unmatched_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.provider_message_id} {self.state}"
