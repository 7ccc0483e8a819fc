"""Users, organizations (the tenants), memberships, invitations, API keys, login records and the audit log.

Billing models (ledger, payments, price plans) live in the `billing` app.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Role, all_scopes, role_has_permission
from portal.tenancy import TenantManager


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    phone_number = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +639171234567")
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active", "Active"  # may send, create keys and top up
    SUSPENDED = "suspended", "Suspended"  # may sign in and read, but every write is refused until reactivated
    CLOSED = "closed", "Closed"  # deleted by its owner or closed by an erasure; kept only for billing records


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    status = models.CharField(max_length=16, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE)
    suspended_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == OrganizationStatus.ACTIVE


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager(scope_fields=("user",))  # queries must name the organization (portal.tenancy)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org")]
        ordering = ["organization__name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def has_perm(self, permission: str) -> bool:
        return role_has_permission(self.role, permission)


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # sent, not yet answered
    ACCEPTED = "accepted", "Accepted"  # turned into a membership; the token no longer works
    REVOKED = "revoked", "Revoked"  # withdrawn by an admin before it was used


class Invitation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"


class APIKey(models.Model):
    """An organization's API key. Only a SHA-256 of the key is stored: a copy of this table cannot send a message."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24, unique=True, help_text="Shown in lists so a key can be recognised")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(
        default=all_scopes, help_text="What the key may do (accounts.roles.Scope values); every scope by default"
    )

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginRecord(models.Model):
    """Technical data the privacy policy says is collected: every sign-in attempt, successful or not."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="login_records",
    )
    email_attempted = models.CharField(max_length=254, blank=True)
    succeeded = models.BooleanField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    browser = models.CharField(max_length=100, blank=True)
    operating_system = models.CharField(max_length=100, blank=True)
    device = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"{self.email_attempted or self.user_id} {outcome} {self.created_at:%Y-%m-%d %H:%M}"


class AuditLog(models.Model):
    """Who did what, for staff and for the organization's own admins. Append-only."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_logs"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(APIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_type = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    extra_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.target_type}:{self.target_id}"


class APIRequestLog(models.Model):
    """One row per API request: the monitoring the privacy policy promises, and what rate-limit disputes need.

    Written in batches (`accounts.api_usage`), never one INSERT per request; `APIUsageDaily` holds the daily sums
    that pages read. Kept for the `api_request_logs` retention period (privacy.data.retention)."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_request_logs"
    )
    api_key = models.ForeignKey(APIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    # The URL pattern that answered ("api/v1/messages/<int:message_id>"): groups calls without ids or secrets.
    route = models.CharField(max_length=200, blank=True)
    status_code = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        verbose_name = "API request log"

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"


class APIUsageDaily(models.Model):
    """API calls of one organization's key (none: a signed-in session) on one Manila day, per route and status
    class (2 = 2xx ... 5 = 5xx): what the API keys page charts, read in a few rows instead of scanning the log.
    Counts are added when the request log's batches are written; two rows for the same key may exist (written at
    the same moment by two processes) and are summed by the readers."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    api_key = models.ForeignKey(APIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    day = models.DateField()
    method = models.CharField(max_length=8)
    route = models.CharField(max_length=200)
    status_class = models.PositiveSmallIntegerField()
    calls = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0, help_text="Sum over the calls")

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        indexes = [models.Index(fields=["organization", "day"], name="api_usage_org_day_idx")]
        verbose_name = "API usage per day"
        verbose_name_plural = "API usage per day"

    def __str__(self) -> str:
        return f"{self.day} {self.method} {self.route} {self.status_class}xx: {self.calls}"


def active_memberships_q() -> Q:
    return Q(organization__status__in=[OrganizationStatus.ACTIVE, OrganizationStatus.SUSPENDED])
