"""Every model of the privacy app, where Django discovers them; the policy versions' own models are defined here.

- `privacy.requests.models`: data subject requests, their events, correspondence, evidence, fulfilment steps and
  reminders; contact inquiries.
- `privacy.data.models`: suppressions, objections, exports, erasures, legal holds, retention.
- `privacy.sla`: the public holidays the deadlines skip.

Code imports a model from the module that defines it; this module only gathers them for Django.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from privacy.data.models import (  # noqa: F401  (Django discovers models here)
    DataExport,
    DataExportDownload,
    DormancyNotice,
    ErasureJob,
    ErasureLedgerEntry,
    ErasureTask,
    LegalHold,
    ProcessingObjection,
    PurgeLog,
    RetentionRule,
    Suppression,
    SuppressionException,
)
from privacy.requests.models import (  # noqa: F401  (Django discovers models here)
    ContactInquiry,
    DataSubjectRequest,
    FulfilmentStep,
    PhoneProof,
    ReminderSent,
    RequestEvent,
    RequestEvidence,
    RequestMessage,
)
from privacy.sla import Holiday  # noqa: F401  (Django discovers models here)


class PolicyVersion(models.Model):
    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=120, default="Privacy Policy")
    body_markdown = models.TextField(help_text="Markdown subset: headings (#), lists (-), **bold**, paragraphs")
    last_updated = models.DateField(help_text='Shown as "Last Updated" on the policy')
    effective_date = models.DateField()
    material_change = models.BooleanField(
        default=False, help_text="Registered users are e-mailed, shown a banner and must acknowledge"
    )
    summary_of_changes = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="Empty while a draft")
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the e-mail to every user finished")
    notified_count = models.PositiveIntegerField(default=0)
    # The last user (by id) whose e-mail went out: an interrupted run resumes after them, nobody is mailed twice.
    notified_through_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class PolicyAcknowledgement(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acknowledgements")
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="acknowledgements")
    acknowledged_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [models.UniqueConstraint(fields=["user", "policy_version"], name="policy_ack_once_per_version")]

    def __str__(self) -> str:
        return f"{self.user_id} acknowledged v{self.policy_version_id}"
