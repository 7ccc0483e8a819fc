"""Sender names an organization asked for, and staff's decision on each (networks register them per brand).

Who requested and who decided is in the audit log (`sender_name.requested`, `.approved`, `.rejected`)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.tenancy import TenantManager


class SenderNameStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # requested by the organization; waiting for staff
    APPROVED = "approved", "Approved"  # may be used on messages
    REJECTED = "rejected", "Rejected"  # refused by staff, with a reason the organization sees


class SenderName(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="sender_names")
    name = models.CharField(max_length=11, help_text="Up to 11 letters, digits or spaces")
    status = models.CharField(max_length=10, choices=SenderNameStatus.choices, default=SenderNameStatus.PENDING)
    is_default = models.BooleanField(default=False, help_text="Used when a message names no sender")
    purpose = models.CharField(max_length=255, blank=True, help_text="What the organization sends with it")
    reason = models.CharField(max_length=255, blank=True, help_text="Staff's reason for the decision")
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="sender_name_unique_per_org"),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(is_default=True), name="sender_name_one_default_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
