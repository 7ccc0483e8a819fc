"""Admin of the data side: erasures (per-area status, retry), exports, legal holds, retention rules, purges,
suppressions and objections. Everything staff need is here, so nobody digs in the database.

Writes go through the domain functions (audited); identifiers are never shown in clear where only a hash is kept.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from portal.errors import ApplicationError
from privacy.data.erasure import erasure_job_cancel, erasure_tasks_retry
from privacy.data.erasure_run import erasure_job_run
from privacy.data.legal_holds import legal_hold_place, legal_hold_release
from privacy.data.models import (
    DataExport,
    DataExportDownload,
    ErasureJob,
    ErasureLedgerEntry,
    ErasureTask,
    ErasureTaskStatus,
    LegalHold,
    ProcessingObjection,
    PurgeLog,
    RetentionRule,
    Suppression,
)
from privacy.data.tasks import export_build_task

STATUS_COLOURS = {
    ErasureTaskStatus.DONE: "green",
    ErasureTaskStatus.FAILED: "red",
    ErasureTaskStatus.RETRYING: "orange",
    ErasureTaskStatus.ON_HOLD: "purple",
}


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ErasureTaskInline(admin.TabularInline):
    model = ErasureTask
    extra = 0
    can_delete = False
    fields = [
        "area",
        "coloured_status",
        "rows_found",
        "rows_changed",
        "attempts",
        "last_error",
        "next_attempt_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def coloured_status(self, task):
        return format_html(
            '<strong style="color:{}">{}</strong>',
            STATUS_COLOURS.get(task.status, "inherit"),
            task.get_status_display(),
        )


@admin.register(ErasureJob)
class ErasureJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "subject_kind",
        "status",
        "failed_areas",
        "request_id",
        "erase_after",
        "finished_at",
    ]
    list_filter = ["status", "subject_kind"]
    readonly_fields = [
        "request_id",
        "subject_kind",
        "user",
        "email_hash",
        "phone_hash",
        "status",
        "erase_after",
        "created_at",
        "created_by",
        "started_at",
        "finished_at",
    ]
    exclude = ["email", "phone_number"]
    inlines = [ErasureTaskInline]
    actions = ["retry_failed_areas", "run_now", "cancel"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tasks")

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff  # to open the page; every field is read-only

    @admin.display(description="failed / retrying areas")
    def failed_areas(self, job):
        bad = [
            f"{t.area} ({t.status})"
            for t in job.tasks.all()
            if t.status in (ErasureTaskStatus.FAILED, ErasureTaskStatus.RETRYING)
        ]
        return ", ".join(bad) or "—"

    @admin.action(description="Retry failed areas")
    def retry_failed_areas(self, request, queryset):
        for job in queryset:
            try:
                count = erasure_tasks_retry(job=job, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"#{job.pk}: {count} area(s) queued again.")

    @admin.action(description="Run now (what is due)")
    def run_now(self, request, queryset):
        for job in queryset:
            job = erasure_job_run(job_id=job.pk)
            self.message_user(request, f"#{job.pk}: {job.get_status_display()}")

    @admin.action(description="Cancel (during the grace period)")
    def cancel(self, request, queryset):
        for job in queryset:
            try:
                erasure_job_cancel(job=job, actor=request.user, reason="Cancelled by staff in admin")
            except ApplicationError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.ERROR)


@admin.register(ErasureTask)
class ErasureTaskAdmin(ReadOnlyAdmin):
    list_display = ["job", "area", "status", "rows_found", "rows_changed", "attempts", "next_attempt_at"]
    list_filter = ["status", "area"]
    readonly_fields = [f.name for f in ErasureTask._meta.fields]


@admin.register(ErasureLedgerEntry)
class ErasureLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "subject_kind", "erased_at", "last_replayed_at"]
    readonly_fields = [f.name for f in ErasureLedgerEntry._meta.fields]


class DataExportDownloadInline(admin.TabularInline):
    model = DataExportDownload
    extra = 0
    can_delete = False
    fields = ["downloaded_at", "user", "via_token", "ip_address", "user_agent"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "subject_kind",
        "status",
        "request_id",
        "created_at",
        "ready_at",
        "expires_at",
        "size_bytes",
    ]
    list_filter = ["status", "subject_kind"]
    readonly_fields = [
        "request_id",
        "subject_kind",
        "user",
        "status",
        "size_bytes",
        "row_counts",
        "attempts",
        "last_error",
        "created_at",
        "created_by",
        "started_at",
        "ready_at",
        "expires_at",
    ]
    exclude = ["email", "phone_number", "token_hash", "file_name"]
    inlines = [DataExportDownloadInline]
    actions = ["rebuild"]

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff

    @admin.action(description="Build again (failed or stuck exports)")
    def rebuild(self, request, queryset):
        for export in queryset.filter(status__in=["failed", "queued", "building"]):
            export_build_task.enqueue(export_id=export.pk)
            self.message_user(request, f"Export #{export.pk} queued.")


class LegalHoldForm(forms.ModelForm):
    email = forms.EmailField(required=False, help_text="Hold a person by e-mail (only a keyed hash is stored)")
    phone_number = forms.CharField(required=False, help_text="…or by phone number (E.164; hashed)")

    class Meta:
        model = LegalHold
        fields = ["organization", "reason"]

    def clean(self):
        data = super().clean()
        named = [
            bool(data.get("email")),
            bool(data.get("phone_number")),
            data.get("organization") is not None,
        ]
        if self.instance.pk is None and sum(named) != 1:
            raise forms.ValidationError("Name exactly one of: an e-mail address, a phone number, an organization.")
        return data


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldForm
    list_display = ["id", "target", "reason", "placed_by", "placed_at", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    actions = ["release"]
    readonly_fields = ["subject_hash", "placed_by", "placed_at", "released_at", "released_by"]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "phone_number", "organization", "reason"]
        return [
            "organization",
            "subject_hash",
            "reason",
            "placed_by",
            "placed_at",
            "released_at",
            "released_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["organization", "reason"] if obj else [])

    @admin.display(description="on")
    def target(self, hold):
        return f"organization {hold.organization}" if hold.organization_id else f"person {hold.subject_hash[:12]}…"

    def save_model(self, request, obj, form, change):
        if change:
            return
        hold = legal_hold_place(
            reason=form.cleaned_data["reason"],
            actor=request.user,
            email=form.cleaned_data.get("email") or "",
            phone_number=form.cleaned_data.get("phone_number") or "",
            organization=form.cleaned_data.get("organization"),
        )
        obj.pk = hold.pk
        obj.subject_hash = hold.subject_hash
        obj.placed_at = hold.placed_at
        obj.placed_by = hold.placed_by

    @admin.action(description="Release the hold")
    def release(self, request, queryset):
        for hold in queryset.filter(released_at__isnull=True):
            legal_hold_release(hold=hold, actor=request.user)
        self.message_user(request, "Released; held erasures continue at the next scheduler run.")


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "keep_days", "enabled", "updated_at", "updated_by"]
    fields = ["category", "keep_days", "enabled", "public_description", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(PurgeLog)
class PurgeLogAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "category", "keep_days", "rows_affected", "rows_held", "error"]
    list_filter = ["category"]
    readonly_fields = [f.name for f in PurgeLog._meta.fields]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ["id", "short_hash", "source", "created_at", "removed_at"]
    list_filter = ["source", ("removed_at", admin.EmptyFieldListFilter)]
    readonly_fields = [f.name for f in Suppression._meta.fields]

    @admin.display(description="number (hashed)")
    def short_hash(self, suppression):
        return suppression.phone_hash[:12] + "…"


@admin.register(ProcessingObjection)
class ProcessingObjectionAdmin(ReadOnlyAdmin):
    list_display = ["user", "processing", "created_at", "withdrawn_at"]
    list_filter = ["processing"]
    readonly_fields = [f.name for f in ProcessingObjection._meta.fields]
