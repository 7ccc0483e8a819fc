"""Staff review of sender names: approve or reject (with a reason the organization sees) from the list or a row."""

from django import forms
from django.contrib import admin, messages

from messaging.models import SenderName, SenderNameStatus
from messaging.sender_names import sender_name_approve, sender_name_reject


class SenderNameDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[("", "No change"), (SenderNameStatus.APPROVED, "Approve"), (SenderNameStatus.REJECTED, "Reject")],
        required=False,
    )

    class Meta:
        model = SenderName
        fields = ["reason"]


@admin.register(SenderName)
class SenderNameAdmin(admin.ModelAdmin):
    form = SenderNameDecisionForm
    list_display = ["name", "organization", "status", "is_default", "created_at", "reviewed_at"]
    list_filter = ["status"]
    search_fields = ["name", "organization__name", "organization__slug"]
    readonly_fields = ["organization", "name", "purpose", "status", "is_default", "created_at", "reviewed_at"]
    fields = [
        "organization",
        "name",
        "purpose",
        "status",
        "is_default",
        "created_at",
        "reviewed_at",
        "reason",
        "decision",
    ]
    actions = ["approve_selected"]

    def get_queryset(self, request):
        # Staff review every organization's requests.
        return SenderName.objects.unscoped().select_related("organization")

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        decision = form.cleaned_data.get("decision")
        reason = form.cleaned_data.get("reason", "")
        if decision == SenderNameStatus.APPROVED:
            sender_name_approve(sender_name=obj, actor=request.user, reason=reason)
        elif decision == SenderNameStatus.REJECTED:
            if not reason.strip():
                messages.error(request, "Give the organization a reason for rejecting the name; nothing was changed.")
                return
            sender_name_reject(sender_name=obj, actor=request.user, reason=reason)
        else:
            SenderName.objects.unscoped().filter(pk=obj.pk).update(reason=reason[:255])

    @admin.action(description="Approve the selected sender names")
    def approve_selected(self, request, queryset):
        for sender_name in queryset.exclude(status=SenderNameStatus.APPROVED):
            sender_name_approve(sender_name=sender_name, actor=request.user)
        messages.success(request, "Approved.")
