"""Admin of the privacy app: policy versions and public holidays here; requests and contact inquiries in
`privacy.requests.admin`, the data side (erasures, exports, holds, retention, suppressions) in `privacy.data.admin`.

Django's admin discovers only this module, so it imports the other two, whose classes register themselves.
"""

from django.contrib import admin

import privacy.data.admin  # noqa: F401  (registers the data side's admin pages)
import privacy.requests.admin_inquiries  # noqa: F401  (registers the correspondence and inquiry pages)
from privacy import policy
from privacy.models import PolicyAcknowledgement, PolicyVersion
from privacy.requests.admin import run_on_each
from privacy.sla import Holiday


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name")
    search_fields = ("name",)
    date_hierarchy = "date"


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = (
        "version",
        "title",
        "last_updated",
        "effective_date",
        "material_change",
        "published_at",
        "notified_count",
    )
    readonly_fields = ("published_at", "published_by", "notified_at", "notified_count", "created_at")
    actions = ["action_publish"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            # A published version is a record of what people were told: it is never edited, only superseded.
            return [f.name for f in PolicyVersion._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.published_at is None

    @admin.action(description="Publish (a material change e-mails every user and shows a banner)")
    def action_publish(self, request, queryset):
        run_on_each(
            self,
            request,
            queryset.order_by("version"),
            "Published",
            lambda obj: policy.policy_publish(policy_version=obj, actor=request.user),
        )


@admin.register(PolicyAcknowledgement)
class PolicyAcknowledgementAdmin(admin.ModelAdmin):
    list_display = ("user", "policy_version", "acknowledged_at", "ip_address")
    list_select_related = ("user", "policy_version")
    search_fields = ("user__email",)
    readonly_fields = ("user", "policy_version", "acknowledged_at", "ip_address")

    def has_add_permission(self, request):
        return False
