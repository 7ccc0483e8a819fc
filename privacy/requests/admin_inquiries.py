"""Admin of the correspondence log and of contact inquiries (answered within 48 business hours).

Django's admin discovers only `privacy/admin.py`, which imports this module; its classes register themselves.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from privacy import sla
from privacy.requests import inquiries
from privacy.requests.admin import BAND_COLOURS, ContactSearchMixin, with_reason_form
from privacy.requests.models import ContactInquiry, InquiryStatus, RequestMessage


@admin.register(RequestMessage)
class RequestMessageAdmin(ContactSearchMixin, admin.ModelAdmin):
    list_display = ("request", "kind", "direction", "channel", "subject", "created_at", "sent_at", "error")
    list_filter = ("kind", "direction", "channel")
    # Subjects and addresses are encrypted: found by the requester's exact e-mail address or number.
    search_fields = ("=request__id",)
    contact_search_paths = ("request__email_hash", "request__phone_hash")
    list_select_related = ("request",)
    readonly_fields = [f.name for f in RequestMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ContactInquiry)
class ContactInquiryAdmin(ContactSearchMixin, admin.ModelAdmin):
    list_display = (
        "subject",
        "email",
        "is_privacy",
        "status",
        "received_at",
        "due_at",
        "band_badge",
        "assignee",
    )
    list_filter = ("status", "is_privacy", "assignee")
    # Encrypted: found by the exact e-mail address or number.
    search_fields = ("=id",)
    list_select_related = ("assignee",)
    readonly_fields = [f.name for f in ContactInquiry._meta.fields if f.name not in ("assignee",)]
    actions = ["action_answer", "action_close"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Band")
    def band_badge(self, obj):
        if obj.status != InquiryStatus.OPEN:
            return "—"
        band = sla.band_for(due_at=obj.due_at, now=timezone.now())
        return format_html('<b style="color:{}">{}</b>', BAND_COLOURS[band], band.label)

    @admin.action(description="Answer (e-mailed to the sender)")
    def action_answer(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_answer",
            title="Answer (sent by e-mail)",
            label="Answered",
            call=lambda obj, answer: inquiries.inquiry_answer(inquiry=obj, actor=request.user, answer=answer),
        )

    @admin.action(description="Close without answer (note why)")
    def action_close(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_close",
            title="Why is it closed?",
            label="Closed",
            call=lambda obj, note: inquiries.inquiry_close(inquiry=obj, actor=request.user, note=note),
        )
