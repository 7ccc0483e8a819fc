"""Staff run everything from here. Admin stays thin: actions call services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html, format_html_join

from accounts import services
from accounts.models import (
    APIKey,
    APIRequestLog,
    AuditLog,
    Invitation,
    LoginRecord,
    Membership,
    Organization,
    User,
)
from portal.errors import ApplicationError
from portal.staff_attention import OrganizationFact, admin_list_url, facts_for_organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "phone_number", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "is_superuser"]
    search_fields = ["email", "full_name", "phone_number"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal information", {"fields": ("full_name", "phone_number")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class SuspendForm(admin.helpers.ActionForm):
    reason = forms.CharField(required=False, help_text="Required to suspend")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug"]
    readonly_fields = ["at_a_glance", "created_at"]
    inlines = [MembershipInline]
    action_form = SuspendForm
    actions = ["suspend", "reactivate"]

    @admin.display(description="At a glance")
    def at_a_glance(self, organization):
        """Balance, this month's usage and links to its messages, payments and members: each app adds its lines
        (portal.staff_attention.organization_facts)."""
        if organization.pk is None:
            return "—"
        members = organization.memberships.count()
        facts = [
            *facts_for_organization(organization_id=organization.pk),
            OrganizationFact(
                label="Members",
                value=str(members),
                url=admin_list_url(Membership, organization__id__exact=organization.pk),
            ),
        ]
        rows = format_html_join(
            "",
            '<li class="organization-fact"><strong>{}:</strong> {} {}</li>',
            (
                (fact.label, fact.value, format_html('<a href="{}">view list</a>', fact.url) if fact.url else "")
                for fact in facts
            ),
        )
        return format_html('<ul class="organization-facts">{}</ul>', rows)

    @admin.action(description="Suspend (reason required)")
    def suspend(self, request, queryset):
        reason = request.POST.get("reason", "")
        for organization in queryset:
            try:
                services.organization_suspend(organization=organization, actor=request.user, reason=reason)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
        self.message_user(request, f"Suspended {queryset.count()} organization(s).")

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset):
        for organization in queryset:
            services.organization_reactivate(organization=organization, actor=request.user)
        self.message_user(request, f"Reactivated {queryset.count()} organization(s).")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["token_hash"]
    readonly_fields = [
        "organization",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "organization",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "prefix", "organization__name", "organization__slug"]
    list_select_related = ["organization", "created_by"]
    exclude = ["key_hash"]  # never shown, not even to staff
    readonly_fields = [
        "organization",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created with create_api_key or by members, so the secret is shown exactly once

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset.select_related("organization"):
            services.api_key_revoke(organization=api_key.organization, actor=request.user, api_key_id=api_key.id)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LoginRecord)
class LoginRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "email_attempted",
        "succeeded",
        "ip_address",
        "browser",
        "operating_system",
        "device",
    ]
    list_filter = ["succeeded", "created_at"]
    search_fields = ["email_attempted", "ip_address", "user__email"]
    list_select_related = ["user"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "organization", "actor", "target_type", "target_id"]
    list_filter = ["event_type", "created_at"]
    search_fields = ["event_type", "organization__slug", "actor__email", "target_id"]
    list_select_related = ["organization", "actor"]


@admin.register(APIRequestLog)
class APIRequestLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "method",
        "path",
        "status_code",
        "duration_ms",
        "organization",
        "ip_address",
    ]
    list_filter = ["method", "status_code", "created_at"]
    search_fields = ["path", "organization__slug", "ip_address"]
    list_select_related = ["organization"]
