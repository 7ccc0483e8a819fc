"""An organization's address book: contacts (number, name, custom fields from their CSV columns), tags, groups, and
the organization's own opt-out list.

Numbers are personal data and are encrypted at rest like message recipients (`portal.crypto`): the E.164 number
is ciphertext, and `phone_hash` (its keyed hash) is what uniqueness, lookups and joins use. Custom fields (any
column of an imported CSV besides the number and the name) are kept per contact and fill a template's merge
fields (`{city}`), so they are encrypted too.
"""

import json

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.crypto import PHONE_LOOKUP_PURPOSE, FastEncryptedTextField, LookupHashField
from portal.tenancy import TenantManager


class Tag(models.Model):
    """A free label on contacts ("vip", "manila"); a contact list can be narrowed by it."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=40)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="contact_tag_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    phone_number = FastEncryptedTextField(help_text="E.164, encrypted at rest")
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE)
    name = FastEncryptedTextField(blank=True, default="")
    # {field key: value} from the CSV columns the customer kept; keys are merge-field keys (`{city}` -> "city").
    custom_fields = FastEncryptedTextField(blank=True, default="", help_text="JSON object, encrypted at rest")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "phone_hash"], name="contact_one_per_number_per_org")
        ]

    def __str__(self) -> str:
        return f"Contact {self.pk}"

    @property
    def fields(self) -> dict[str, str]:
        """The custom fields as a dict (stored as encrypted JSON text)."""
        return json.loads(self.custom_fields) if self.custom_fields else {}


class ContactGroup(models.Model):
    """A list of contacts a campaign can be sent to."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="groups")
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="contact_group_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class OptOut(models.Model):
    """A number the organization itself must not send to (the person asked the organization, not the platform):
    every send of that organization treats it like a platform suppression (rejected, not charged)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    phone_number = FastEncryptedTextField(help_text="E.164, encrypted at rest")
    phone_hash = LookupHashField(source="phone_number", purpose=PHONE_LOOKUP_PURPOSE)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "phone_hash"], name="opt_out_one_per_number")]

    def __str__(self) -> str:
        return f"Opt-out {self.pk}"
