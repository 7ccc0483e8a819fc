"""Data-area models: suppressions, objections, exports, erasure jobs and ledger, legal holds, retention.

Identifiers of people who asked to be forgotten or not contacted are kept only as keyed hashes
(`portal.crypto.keyed_hash`): a copy of these tables is not a list of e-mail addresses or phone numbers.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.crypto import (
    EMAIL_LOOKUP_PURPOSE,
    PHONE_LOOKUP_PURPOSE,
    EncryptedTextField,
    FastEncryptedTextField,
    LookupHashField,
)
from portal.personal_data import ErasureArea
from portal.tenancy import TenantManager

# Purposes for `portal.crypto.keyed_hash`: one per kind of identifier, so equal values of different kinds differ.
PHONE_HASH_PURPOSE = "privacy.phone"
EMAIL_HASH_PURPOSE = "privacy.email"


class SuppressionSource(models.TextChoices):
    REQUEST = "request", "Data subject request"  # the person asked through the privacy request form
    STOP_REPLY = "stop_reply", "STOP reply"  # the person replied STOP to a message
    STAFF = "staff", "Staff"  # staff added it, e.g. after a phone call or a complaint


class Suppression(models.Model):
    """ "Do not send to me": every organization's sending asks `suppressed_numbers` before it charges or
    sends."""

    phone_hash = models.CharField(max_length=64, help_text="keyed_hash of the E.164 number; the number is not kept")
    source = models.CharField(max_length=16, choices=SuppressionSource.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=Q(removed_at__isnull=True),
                name="suppression_one_active_per_number",
            )
        ]
        indexes = [models.Index(fields=["phone_hash"], name="suppression_phone_hash_idx")]

    def __str__(self) -> str:
        state = "removed" if self.removed_at else "active"
        return f"Suppression {self.phone_hash[:12]}… ({self.source}, {state})"


class ProcessingKind(models.TextChoices):
    MARKETING_EMAIL = "marketing_email", "Marketing e-mail"  # news and offers by e-mail
    USAGE_ANALYTICS = "usage_analytics", "Usage analytics"  # inclusion in aggregate usage statistics
    EXTENDED_MONITORING = (
        "extended_monitoring",
        "Monitoring beyond security needs",
    )  # e.g. detailed request logs


class ProcessingObjection(models.Model):
    """A person's "no" to one optional processing; withdrawing it keeps the row, so the history stays."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="processing_objections")
    processing = models.CharField(max_length=32, choices=ProcessingKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "processing"],
                condition=Q(withdrawn_at__isnull=True),
                name="objection_one_active_per_user_processing",
            )
        ]

    def __str__(self) -> str:
        state = "withdrawn" if self.withdrawn_at else "active"
        return f"{self.user_id} objects to {self.processing} ({state})"


# --- Subjects ---


class SubjectKind(models.TextChoices):
    USER = "user", "Account holder"  # someone with a portal account (found by user, e-mail and phone number)
    RECIPIENT = "recipient", "Message recipient"  # someone who only received messages (found by phone number)


# --- Access exports ---


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting for the background worker
    BUILDING = "building", "Building"  # the worker is writing the archive
    READY = "ready", "Ready"  # encrypted archive stored; the link works until expires_at
    FAILED = "failed", "Failed"  # the build raised; last_error says why and staff were told
    EXPIRED = "expired", "Expired"  # past expires_at or purged; the file is gone


class DataExport(models.Model):
    """An access-request archive: built in the background, stored encrypted, downloadable for a limited
    time."""

    request_id = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="DataSubjectRequest id (plain id: requests are never deleted)",
    )
    subject_kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="data_exports",
    )
    # Whose data it is: encrypted at rest, found by the keyed hashes beside them.
    email = FastEncryptedTextField(blank=True)
    email_hash = LookupHashField(source="email", purpose=EMAIL_LOOKUP_PURPOSE, db_index=True)
    phone_number = FastEncryptedTextField(blank=True)
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE, db_index=True)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    file_name = models.CharField(max_length=200, blank=True, help_text="Relative to PRIVATE_STORAGE_ROOT")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Export #{self.pk} ({self.status})"


class DataExportDownload(models.Model):
    """One row per download: who (owner session or token), when, from where."""

    export = models.ForeignKey(DataExport, on_delete=models.CASCADE, related_name="downloads")
    downloaded_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via_token = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)

    class Meta:
        ordering = ["-downloaded_at"]

    def __str__(self) -> str:
        return f"Download of export #{self.export_id} at {self.downloaded_at:%Y-%m-%d %H:%M}"


# --- Erasure ---


class ErasureStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"  # marked; erase_after not reached yet (grace period)
    RUNNING = "running", "Running"  # areas are being erased
    ON_HOLD = "on_hold", "On legal hold"  # a legal hold covers the person or one of their organizations
    FAILED = "failed", "Failed"  # at least one area gave up after its retries; staff were e-mailed
    DONE = "done", "Done"  # every area erased; the ledger entry is written
    CANCELLED = "cancelled", "Cancelled"  # withdrawn during the grace period


class ErasureJob(models.Model):
    """An erasure of one person: marked first, run by the scheduler after the grace period, one task per area.

    The identifiers are kept encrypted only until the job is done, then blanked: afterwards only the keyed hashes
    in `ErasureLedgerEntry` remain.
    """

    request_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    subject_kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = EncryptedTextField(blank=True)
    phone_number = EncryptedTextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=ErasureStatus.choices, default=ErasureStatus.SCHEDULED)
    erase_after = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Names this erasure in the erasure ledger, which lives in another database (no foreign key crosses them).
    ledger_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # When staff were told that a legal hold keeps part of this person's data (once per hold).
    hold_alerted_for = models.JSONField(default=list, blank=True, help_text="Ids of the holds staff were told about")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Erasure #{self.pk} ({self.subject_kind}, {self.status})"


class ErasureTaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not run yet
    RUNNING = "running", "Running"  # in progress now
    RETRYING = "retrying", "Retrying"  # failed; runs again at next_attempt_at
    ON_HOLD = "on_hold", "On legal hold"  # waits until the hold is released
    DONE = "done", "Done"  # erased; rows_found/rows_changed say how much
    FAILED = (
        "failed",
        "Failed",
    )  # gave up after the maximum attempts; staff must look (admin action retries it)


class ErasureTask(models.Model):
    """One data area of an erasure job: its own status, counts, attempts and error, so nothing is half done
    silently."""

    job = models.ForeignKey(ErasureJob, on_delete=models.CASCADE, related_name="tasks")
    area = models.CharField(max_length=16, choices=ErasureArea.choices)
    status = models.CharField(max_length=16, choices=ErasureTaskStatus.choices, default=ErasureTaskStatus.PENDING)
    rows_found = models.PositiveIntegerField(default=0)
    rows_changed = models.PositiveIntegerField(default=0)
    # Rows a legal hold kept (an organization's records, an area, a number); erased once the hold is released.
    rows_held = models.PositiveIntegerField(default=0)
    held_by = models.JSONField(default=list, blank=True, help_text="Ids of the legal holds that kept rows")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "area"], name="erasure_task_one_per_area")]

    def __str__(self) -> str:
        return f"Erasure #{self.job_id} {self.area}: {self.status}"


class ErasureLedgerEntry(models.Model):
    """Proof that an erasure happened and the key to re-applying it after a backup restore: hashes only.

    Stored in the `erasure_ledger` database (privacy.routers), out of reach of a restore of the main one. Written
    before each area is erased and updated after it, so the ledger is never behind the main database.
    """

    job_id_ref = models.BigIntegerField(null=True, blank=True, help_text="ErasureJob id (may repeat after a restore)")
    job_key = models.UUIDField(null=True, blank=True, unique=True, help_text="ErasureJob.ledger_key")
    subject_kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    erased_at = models.DateTimeField(default=timezone.now)
    areas = models.JSONField(default=list, blank=True, help_text="Areas erased so far")
    completed_at = models.DateTimeField(null=True, blank=True)
    last_replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["erased_at"]
        verbose_name_plural = "erasure ledger entries"

    def __str__(self) -> str:
        return f"Erased {self.subject_kind} at {self.erased_at:%Y-%m-%d}"


# --- Legal holds ---

DEFAULT_HOLD_GROUND = (
    "Needed for the establishment, exercise or defence of legal claims (Data Privacy Act sec. 13(f)), or kept "
    "because a law or a lawful order requires it (sec. 12(c))"
)


class LegalHold(models.Model):
    """Stops erasure and retention purges for a person (hashed identifier) or an organization until
    released."""

    subject_hash = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="keyed_hash of the person's e-mail or phone number",
    )
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="legal_holds"
    )
    area = models.CharField(
        max_length=16, choices=ErasureArea.choices, blank=True, help_text="Only this data area; empty: every area"
    )
    reason = models.TextField(help_text="For staff (e.g. the case or subpoena); not sent to the person")
    ground = models.CharField(
        max_length=300,
        default=DEFAULT_HOLD_GROUND,
        help_text="The legal ground the person is told when their data is kept because of this hold",
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(subject_hash="") | Q(organization__isnull=False), name="legal_hold_has_a_subject"
            )
        ]

    def __str__(self) -> str:
        target = f"organization {self.organization_id}" if self.organization_id else f"person {self.subject_hash[:12]}…"
        return f"Legal hold on {target}" + (" (released)" if self.released_at else "")


# --- Retention ---


class RetentionCategory(models.TextChoices):
    MESSAGE_BODIES = "message_bodies", "Message bodies"  # the text of sent messages: blanked
    MESSAGE_METADATA = (
        "message_metadata",
        "Message metadata",
    )  # recipient numbers of old messages: pseudonymised
    LOGIN_RECORDS = "login_records", "Login records"  # sign-in attempts with IP address and browser: deleted
    API_REQUEST_LOGS = "api_request_logs", "API request logs"  # one row per API call with IP address: deleted
    WEBHOOK_DELIVERY_LOGS = (
        "webhook_delivery_logs",
        "Webhook delivery logs",
    )  # payloads sent to customers: deleted
    EXPORT_FILES = "export_files", "Access-request export files"  # encrypted archives: deleted
    # Contact details of closed requests: pseudonymised.
    CLOSED_REQUESTS = "closed_requests", "Closed privacy requests"
    # Ledger, payments and receipts of a *closed* organization, once its last transaction is older than the
    # tax retention period (PRIVACY_BILLING_RETENTION_YEARS): deleted together, so billing_audit balances.
    CLOSED_ORGANIZATION_BILLING = "closed_org_billing", "Billing records of closed organizations"
    # E-mail addresses and text of the correspondence of closed requests: scrubbed; that it was sent stays.
    REQUEST_CORRESPONDENCE = "request_correspondence", "Correspondence of closed privacy requests"
    OTP_RECORDS = "otp_records", "One-time code records"  # the number each code went to: deleted
    CONTACT_INQUIRIES = "contact_inquiries", "Contact form messages"  # answered or closed inquiries: deleted
    AUDIT_EXTRA_DATA = "audit_extra_data", "Audit log details"  # the details of old audit entries: emptied
    # Accounts nobody signed in to: a notice first, then the account is anonymised by an erasure.
    DORMANT_ACCOUNTS = "dormant_accounts", "Dormant accounts"


class RetentionRule(models.Model):
    """How long one category is kept. Defaults come from settings.PRIVACY_RETENTION_DEFAULTS; staff edit
    here."""

    category = models.CharField(max_length=32, choices=RetentionCategory.choices, unique=True)
    keep_days = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    public_description = models.TextField(blank=True, help_text="Shown on the public privacy page")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.keep_days} days"


class PurgeLog(models.Model):
    """One row per category per retention run: what was deleted or pseudonymised, and what a hold kept."""

    category = models.CharField(max_length=32, choices=RetentionCategory.choices)
    keep_days = models.PositiveIntegerField()
    cutoff = models.DateTimeField()
    rows_affected = models.PositiveIntegerField(default=0)
    rows_held = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Purge {self.category} {self.started_at:%Y-%m-%d}: {self.rows_affected}"


class DormancyNotice(models.Model):
    """The notice that an account nobody signed in to will be anonymised; one per period of inactivity."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    inactive_since = models.DateTimeField(help_text="Last sign-in (or sign-up) when the notice was sent")
    notified_at = models.DateTimeField(default=timezone.now)
    erasure_job_id = models.BigIntegerField(null=True, blank=True, help_text="The anonymisation, once started")

    class Meta:
        ordering = ["-notified_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "inactive_since"], name="dormancy_notice_once_per_spell")
        ]

    def __str__(self) -> str:
        return f"Dormancy notice to user {self.user_id} at {self.notified_at:%Y-%m-%d}"


class SuppressionException(models.Model):
    """One proof code may reach a number that opted out of SMS, because its holder asked for it themself.

    `suppressed_numbers` lets the named organization's messages to the number through until `expires_at` (the code's
    lifetime); every exception is kept as the record that the person asked.
    """

    phone_hash = models.CharField(max_length=64, db_index=True)
    organization_id = models.BigIntegerField(help_text="The sending organization (the operator's)")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Code to an opted-out number {self.phone_hash[:12]}… ({self.created_at:%Y-%m-%d %H:%M})"
