"""Staff admin of address books and campaigns: read-only (customers own their contacts; staff look, never edit).

Numbers are encrypted, so the lists show no number column to search: staff find a customer's contacts by
organization name, and a campaign by its name."""

from django.contrib import admin

from messaging.campaigns.models import Campaign, MessageTemplate
from messaging.contacts.models import Contact, ContactGroup, OptOut


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnly):
    list_display = ["id", "organization", "phone_number", "name", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["organization__name"]
    exclude = ["custom_fields"]  # personal details the organization imported; staff have no need to read them


@admin.register(ContactGroup)
class ContactGroupAdmin(ReadOnly):
    list_display = ["id", "organization", "name", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]
    exclude = ["contacts"]


@admin.register(OptOut)
class OptOutAdmin(ReadOnly):
    list_display = ["id", "organization", "phone_number", "reason", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["organization__name"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnly):
    list_display = ["id", "organization", "name", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]


@admin.register(Campaign)
class CampaignAdmin(ReadOnly):
    list_display = ["id", "organization", "name", "source", "status", "recipients_total", "send_at", "created_at"]
    list_filter = ["status", "source"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]
    exclude = ["contact_ids", "groups"]
