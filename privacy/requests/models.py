"""Data subject requests, their SLA and record of compliance; contact inquiries.

A data subject request (access, update, delete, object) moves through one workflow:

    submitted ──verify──▶ verified ──start──▶ in_progress ──▶ completed
        │                    │                 │  ▲
        │                    │                 ▼  │ (requester answers; the SLA clock resumes)
        │                    │           awaiting_requester
        ├──▶ expired (unverified for 7 days)
        └──▶ rejected (reason told to the requester, with the right to complain to the NPC) / withdrawn

Every transition is a `RequestEvent`; every e-mail or SMS about a request is a `RequestMessage`;
export/erasure steps report into `FulfilmentStep`. Together with `RequestEvidence` they are the record of
compliance and are kept.

The due date is never stored as a number of days: the request stores the SLA *rule* and its inputs (receipt
time, paused time, extension) and `privacy.sla.due_at_compute` derives `due_at` from them (kept on the row so
the board can sort and filter in the database, recomputed by the services whenever an input changes).


Data-area models (suppressions, objections, exports, erasures, retention, legal holds) live in
`privacy/data/models.py`, policy versions in `privacy/models.py`, public holidays in `privacy/sla.py`.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.crypto import (
    EMAIL_LOOKUP_PURPOSE,
    PHONE_LOOKUP_PURPOSE,
    EncryptedTextField,
    FastEncryptedJSONField,
    FastEncryptedTextField,
    LookupHashField,
)
from privacy.sla import SlaRule


class RequestKind(models.TextChoices):
    ACCESS = "access", "Access (a copy of my data)"  # policy §6 "Request a copy of your personal data"
    UPDATE = "update", "Update (correct my data)"  # policy §6 "Correct inaccurate or incomplete information"
    DELETE = "delete", "Delete (erase my data)"  # policy §6 "Request deletion of your personal data"
    OBJECT = (
        "object",
        "Object (stop some processing)",
    )  # policy §6 "Opt-out of certain data processing activities"


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"  # received; the requester has not yet proven who they are
    VERIFIED = "verified", "Verified"  # identity proven; waiting for staff to pick it up
    IN_PROGRESS = "in_progress", "In progress"  # staff (or an export/erasure step) are working on it
    AWAITING_REQUESTER = (
        "awaiting_requester",
        "Awaiting requester",
    )  # we asked a question; the SLA clock is paused
    COMPLETED = "completed", "Completed"  # answered in full; the record is kept
    REJECTED = (
        "rejected",
        "Rejected",
    )  # refused with a reason told to the requester (NPC complaint right included)
    WITHDRAWN = "withdrawn", "Withdrawn"  # the requester no longer wants it
    EXPIRED = "expired", "Expired"  # never verified within 7 days; nothing was done with it


OPEN_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.VERIFIED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.AWAITING_REQUESTER,
)
# Statuses whose SLA clock counts: a submitted request is not yet verified, so it is not on the staff queue
# by default, but the law's clock already runs from receipt, so it counts too.
CLOSED_STATUSES = (
    RequestStatus.COMPLETED,
    RequestStatus.REJECTED,
    RequestStatus.WITHDRAWN,
    RequestStatus.EXPIRED,
)


class RequestChannel(models.TextChoices):
    PRIVACY_CENTRE = "privacy_centre", "Privacy centre (signed in)"  # a signed-in user's own request
    PUBLIC_FORM = (
        "public_form",
        "Public request form",
    )  # anyone, e.g. a person who received SMS through the portal
    API = "api", "API"  # a signed-in user's session through /api/v1/privacy/requests
    STAFF = "staff", "Entered by staff"  # received by letter or e-mail and typed in by the privacy team


class VerificationMethod(models.TextChoices):
    ACCOUNT = "account", "Signed-in account"  # the session proves it
    EMAIL = "email", "E-mail link"  # a signed link sent to the e-mail address
    SMS = "sms", "SMS one-time code"  # a code sent to the mobile number through the portal's own sending path
    STAFF = "staff", "Checked by staff"  # staff verified identity by other means (note required)


# The `email_hash` of a request whose contact details were erased or anonymised (never a keyed hash's hex).
ERASED_EMAIL_HASH = "erased"


class DataSubjectRequest(models.Model):
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    status = models.CharField(max_length=24, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED)
    channel = models.CharField(max_length=24, choices=RequestChannel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="privacy_requests",
    )
    # The requester's words and contact details are encrypted at rest; lookups use the keyed hashes beside them.
    full_name = FastEncryptedTextField(blank=True)
    email = FastEncryptedTextField()
    email_hash = LookupHashField(source="email", purpose=EMAIL_LOOKUP_PURPOSE)
    phone_number = FastEncryptedTextField(blank=True, help_text="E.164, or empty")
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE)
    details = FastEncryptedTextField(blank=True, help_text="What the requester asked, in their words")
    # The new values a correction asks for (a name, a number): personal data, encrypted like the request's own.
    requested_changes = FastEncryptedJSONField(default=dict, blank=True, help_text="Update: field -> new value")
    objections = models.JSONField(default=list, blank=True, help_text="Object: processing activities objected to")

    verification_method = models.CharField(max_length=16, choices=VerificationMethod.choices)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The secret status link's token is shown once (and e-mailed); only its SHA-256 is stored.
    status_token_hash = models.CharField(max_length=64, unique=True)

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # NPC complaint rules: a person may complain if nothing substantive arrives within 15 calendar days.
    first_response_due_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)

    sla_rule = models.CharField(max_length=48, choices=SlaRule.choices, default=SlaRule.DATA_SUBJECT_REQUEST)
    paused_total = models.DurationField(default=timedelta, help_text="Time spent awaiting the requester")
    paused_since = models.DateTimeField(null=True, blank=True)
    # Staff asked for proof of identity: the clock stops, and starts again from zero when the proof arrives.
    awaiting_identity = models.BooleanField(default=False)
    clock_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When proof of identity arrived: the deadline counts from here"
    )
    extended = models.BooleanField(default=False)
    # Staff's words about the request may name the person or their data: encrypted like the requester's own.
    extension_reason = FastEncryptedTextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(db_index=True, help_text="Derived by privacy.sla from the rule and its inputs")

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_privacy_requests",
        limit_choices_to={"is_staff": True},
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    rejection_reason = FastEncryptedTextField(blank=True)
    resolution_note = FastEncryptedTextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set while a fulfilment step failed and nobody has re-run it; the board shows it until it is cleared.
    needs_attention = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = "data subject request"
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["kind", "status"]),
            models.Index(fields=["email_hash"]),
            models.Index(fields=["phone_hash"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="dsr_rejection_needs_reason"
            ),
            models.CheckConstraint(
                condition=Q(extended=False) | ~Q(extension_reason=""), name="dsr_extension_needs_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display().split(' (')[0]} by {self.email or self.phone_number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def reference(self) -> str:
        return f"DSR-{self.pk:06d}" if self.pk else "DSR-new"


class ActorLabel(models.TextChoices):
    """Who acted on a request when no user row tells (`RequestEvent.actor_label`, a plain column)."""

    REQUESTER = "requester", "Requester"  # the person who made the request (status page, privacy centre, API)
    STAFF = "staff", "Staff"  # the privacy team
    USER = "user", "Signed-in user"  # a signed-in person acting on their own request
    SYSTEM = "system", "System"  # a periodic job or a fulfilment step


class RequestEvent(models.Model):
    """One row per change of a request: transitions (from → to) and actions that keep the status (assign,
    extend)."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=24, choices=RequestStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=RequestStatus.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "requester", "system" or "staff": who acted when no user row did (the public requester, a periodic job).
    actor_label = models.CharField(max_length=32, blank=True)
    note = FastEncryptedTextField(blank=True)  # may quote the requester or staff about them
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.action} {self.from_status}→{self.to_status}"


class MessageChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"  # sent with Django's mail backend
    SMS = "sms", "SMS"  # sent through the portal's own sending path (one-time codes)


class MessageDirection(models.TextChoices):
    OUTBOUND = "outbound", "To the requester / staff"  # we wrote
    INBOUND = "inbound", "From the requester"  # they answered through the status page


class RequestMessage(models.Model):
    """The correspondence log: every message about a request, kept as evidence of what was told and when."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=32, help_text="acknowledgement, verification, question, rejection, …")
    direction = models.CharField(max_length=16, choices=MessageDirection.choices, default=MessageDirection.OUTBOUND)
    channel = models.CharField(max_length=8, choices=MessageChannelKind.choices, default=MessageChannelKind.EMAIL)
    # Addresses and text are encrypted at rest.
    recipients = FastEncryptedJSONField(default=list)
    subject = FastEncryptedTextField(blank=True)
    body = FastEncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The address of a requester whose contact details were already erased (the erasure's confirmation): encrypted,
    # used once to send, then blanked. `recipients` then says only that it went to the erased address.
    erased_recipient = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.kind} ({self.channel})"


def evidence_storage():
    return FileSystemStorage(location=settings.PRIVATE_STORAGE_ROOT / "privacy-evidence")


class RequestEvidence(models.Model):
    """What staff relied on: identity documents, screenshots, the export or erasure reference, notes."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="evidence")
    label = models.CharField(max_length=200)
    note = FastEncryptedTextField(blank=True)
    file = models.FileField(storage=evidence_storage, upload_to="%Y/%m/", blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "request evidence"

    def __str__(self) -> str:
        return self.label


class FulfilmentStepKind(models.TextChoices):
    """What a fulfilment step does. `FulfilmentStep.step` stores the value (a plain column: no migration)."""

    EXPORT = "export", "Export"  # access: the data side builds the archive and e-mails the link
    ERASURE = "erasure", "Erasure"  # delete: the data side erases after the grace period
    OBJECTION = "objection", "Objection"  # object: suppressions and per-person processing switches recorded
    UPDATE = "update", "Update"  # update: the account's details corrected


class StepStatus(models.TextChoices):
    RUNNING = "running", "Running"  # started (or re-run); waiting for the step to report back
    SUCCEEDED = "succeeded", "Succeeded"  # done; the request completes when every step has succeeded
    FAILED = "failed", "Failed"  # the error is shown on the board and staff were alerted; can be re-run


class FulfilmentStep(models.Model):
    """One export/erasure/objection/update step of a request, as reported by
    `privacy.requests.reporting.fulfilment_report`."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.RUNNING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    # While the step retries by itself: what is failing (e.g. the erasure's messages area) and when it tries again.
    progress = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "step"], name="fulfilment_step_unique")]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.step} {self.status}"


class ReminderSent(models.Model):
    """Each reminder/escalation is recorded once; the unique key makes a re-run of a periodic job send
    nothing."""

    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    inquiry = models.ForeignKey(
        "privacy.ContactInquiry", null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    # "verify_24h", "due_10d", "due_5d", "due_1d", "overdue:2026-11-25" (one escalation per calendar day).
    key = models.CharField(max_length=40)
    # The addresses reminded (the requester's among them): encrypted like the request's own.
    sent_to = FastEncryptedJSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "key"], name="reminder_once_per_request"),
            models.UniqueConstraint(fields=["inquiry", "key"], name="reminder_once_per_inquiry"),
        ]

    def __str__(self) -> str:
        return f"{self.key} for {self.request_id or self.inquiry_id}"


class InquiryStatus(models.TextChoices):
    OPEN = "open", "Open"  # waiting for our answer; the 48-business-hour clock runs
    ANSWERED = "answered", "Answered"  # we replied (the reply is kept on the row)
    CLOSED = "closed", "Closed"  # spam or nothing to answer; a note says why


class ContactInquiry(models.Model):
    """Support and privacy contact form (policy §9): answered within 48 hours on business days."""

    # The sender's words and contact details are encrypted at rest; lookups use the keyed hashes beside them.
    full_name = FastEncryptedTextField()
    email = FastEncryptedTextField()
    email_hash = LookupHashField(source="email", purpose=EMAIL_LOOKUP_PURPOSE)
    phone_number = FastEncryptedTextField(blank=True)
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_inquiries",
    )
    subject = FastEncryptedTextField()
    message = FastEncryptedTextField()
    is_privacy = models.BooleanField(default=False, help_text="About personal data (routed to the privacy officer)")
    status = models.CharField(max_length=16, choices=InquiryStatus.choices, default=InquiryStatus.OPEN)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    sla_rule = models.CharField(max_length=48, choices=SlaRule.choices, default=SlaRule.INQUIRY_48_BUSINESS_HOURS)
    due_at = models.DateTimeField(db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_inquiries",
        limit_choices_to={"is_staff": True},
    )
    answer = FastEncryptedTextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name_plural = "contact inquiries"

    def __str__(self) -> str:
        return f"{self.subject} ({self.email})"


class PhoneProofMethod(models.TextChoices):
    SMS = "sms", "SMS one-time code"  # a code sent to the number was typed back
    STAFF = "staff", "Checked by staff"  # staff checked it another way; the note says how


class PhoneProof(models.Model):
    """A mobile number proven to belong to a person: an account holder (by SMS code in the privacy centre) or the
    requester of one request (by staff). Only a proven number reaches the messages sent to it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="phone_proofs"
    )
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="phone_proofs"
    )
    phone_number = FastEncryptedTextField(help_text="E.164, encrypted at rest")
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE, db_index=True)
    method = models.CharField(max_length=8, choices=PhoneProofMethod.choices)
    note = FastEncryptedTextField(blank=True, help_text="How staff checked it")
    # The number had asked for no SMS; the person asked for this one code themself.
    despite_opt_out = models.BooleanField(default=False)
    proven_at = models.DateTimeField(default=timezone.now)
    proven_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-proven_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(request__isnull=False), name="phone_proof_has_an_owner"
            )
        ]

    def __str__(self) -> str:
        return f"Number proven by {self.get_method_display()} at {self.proven_at:%Y-%m-%d}"
