"""Admin for data subject requests, their correspondence and contact inquiries.

The workflow fields of a request are read-only here: every change goes through an admin action that calls a
service, so it is checked, audited (RequestEvent) and told to the requester. Actions that need words
(extend, reject, staff verification, complete, answer) show a small form first.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from portal.crypto import email_lookup_hash, phone_lookup_hash
from portal.errors import ApplicationError
from privacy import sla
from privacy.data.objections import canonical_phone
from privacy.requests import fulfilment, staff
from privacy.requests.delivery import request_message_deliver
from privacy.requests.forms import AssignForm, ReasonForm, RecordReceivedRequestForm, StaffPhoneProofForm
from privacy.requests.models import (
    DataSubjectRequest,
    FulfilmentStep,
    ReminderSent,
    RequestEvent,
    RequestEvidence,
    RequestMessage,
    RequestStatus,
)
from privacy.requests.phone_proof import request_phone_prove_by_staff
from privacy.requests.workflow import live_due_at
from privacy.templatetags.privacy_labels import event_label

BAND_COLOURS = {sla.Band.ON_TRACK: "#198754", sla.Band.DUE_SOON: "#fd7e14", sla.Band.OVERDUE: "#dc3545"}


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RequestEventInline(_ReadOnlyInline):
    model = RequestEvent
    # Words, not codes: the same labels as the requester's pages, and a status change only when there was one.
    fields = ("created_at", "what_happened", "status_change", "actor", "actor_label", "note")
    readonly_fields = fields

    @admin.display(description="What happened")
    def what_happened(self, event: RequestEvent) -> str:
        return event_label(event.action)

    @admin.display(description="Status")
    def status_change(self, event: RequestEvent) -> str:
        if not event.to_status or event.to_status == event.from_status:
            return "—"
        if not event.from_status:
            return event.get_to_status_display()
        return f"{event.get_from_status_display()} → {event.get_to_status_display()}"


class RequestMessageInline(_ReadOnlyInline):
    model = RequestMessage
    fields = (
        "created_at",
        "kind",
        "direction",
        "channel",
        "recipients",
        "subject",
        "body",
        "sent_at",
        "error",
    )
    readonly_fields = fields


class FulfilmentStepInline(_ReadOnlyInline):
    model = FulfilmentStep
    fields = ("step", "status", "error", "progress", "next_attempt_at", "attempts", "started_at", "updated_at")
    readonly_fields = fields


class ReminderSentInline(_ReadOnlyInline):
    model = ReminderSent
    fk_name = "request"
    fields = ("key", "sent_to", "created_at")
    readonly_fields = fields


class RequestEvidenceInline(admin.TabularInline):
    model = RequestEvidence
    extra = 1
    can_delete = False
    fields = ("label", "note", "file", "added_by", "created_at")
    readonly_fields = ("added_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return False


def run_on_each(modeladmin, request, queryset, label, call):
    done = 0
    for obj in queryset:
        try:
            with transaction.atomic():
                call(obj)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)


def with_reason_form(modeladmin, request, queryset, *, action, title, label, call, optional=False):
    """Show a reason form; on submit call `call(obj, reason)` for each selected row."""
    if "apply" in request.POST:
        form = ReasonForm(request.POST)
        if optional:
            form.fields["reason"].required = False
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            run_on_each(modeladmin, request, queryset, label, lambda obj: call(obj, reason))
            return None
    else:
        form = ReasonForm()
        if optional:
            form.fields["reason"].required = False
    return render(
        request,
        "privacy/admin/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": queryset,
            "action": action,
            "opts": modeladmin.model._meta,
        },
    )


class QueueFilter(admin.SimpleListFilter):
    """Unverified requests and duplicates stay out of the working queue unless asked for."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("all", "Everything"), ("unverified", "Unverified only"), ("duplicates", "Duplicates only")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Working queue (verified, not duplicates)",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset.exclude(status=RequestStatus.SUBMITTED).filter(duplicate_of__isnull=True)
        if value == "unverified":
            return queryset.filter(status=RequestStatus.SUBMITTED)
        if value == "duplicates":
            return queryset.filter(duplicate_of__isnull=False)
        return queryset


class ContactSearchMixin:
    """Admin search by an exact e-mail address or number: both are encrypted, so the search term's keyed hash is
    compared (`contact_search_paths`: the e-mail hash path, the number hash path)."""

    contact_search_paths = ("email_hash", "phone_hash")

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            email_path, phone_path = self.contact_search_paths
            matches = Q(**{email_path: email_lookup_hash(term)})
            if phone_path:
                matches |= Q(**{phone_path: phone_lookup_hash(canonical_phone(term))})
            found |= queryset.filter(matches)
        return found, may_have_duplicates


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ContactSearchMixin, admin.ModelAdmin):
    list_display = (
        "reference_link",
        "kind",
        "status",
        "band_badge",
        "due_by",
        "days_left",
        "assignee",
        "email",
        "received_at",
        "extended",
        "needs_attention",
        "duplicate_of",
    )
    list_filter = (QueueFilter, "status", "kind", "channel", "needs_attention", "extended", "assignee")
    search_fields = ("=id",)
    list_select_related = ("assignee", "duplicate_of")
    date_hierarchy = "received_at"
    inlines = [
        FulfilmentStepInline,
        RequestEventInline,
        RequestMessageInline,
        RequestEvidenceInline,
        ReminderSentInline,
    ]
    readonly_fields = [f.name for f in DataSubjectRequest._meta.fields if f.name not in ("resolution_note",)] + [
        "live_due_at",
        "first_answer_by",
    ]
    fieldsets = (
        ("Request", {"fields": ("kind", "status", "channel", "details", "requested_changes", "objections")}),
        (
            "Requester",
            {"fields": ("user", "full_name", "email", "phone_number", "verification_method", "verified_at")},
        ),
        (
            "Deadlines",
            {
                "fields": (
                    "received_at",
                    "acknowledged_at",
                    "first_answer_by",
                    "first_response_at",
                    "sla_rule",
                    "live_due_at",
                    "paused_total",
                    "paused_since",
                    "awaiting_identity",
                    "clock_started_at",
                    "extended",
                    "extension_reason",
                    "extended_at",
                    "extended_by",
                )
            },
        ),
        (
            "Handling",
            {
                "fields": (
                    "assignee",
                    "duplicate_of",
                    "needs_attention",
                    "last_error",
                    "rejection_reason",
                    "resolution_note",
                    "closed_at",
                )
            },
        ),
    )
    actions = [
        "action_verify",
        "action_assign",
        "action_start",
        "action_ask_identity",
        "action_prove_phone",
        "action_extend",
        "action_run_export",
        "action_run_erasure",
        "action_apply_objections",
        "action_apply_updates",
        "action_complete",
        "action_reject",
        "action_resend_failed_messages",
    ]

    def has_add_permission(self, request):
        return False  # requests come in through the forms or `record_received_view`, which start their clocks

    def has_delete_permission(self, request, obj=None):
        return False  # the record of compliance is kept

    def get_urls(self):
        return [
            path(
                "record-received/",
                self.admin_site.admin_view(self.record_received_view),
                name="privacy_datasubjectrequest_record_received",
            ),
            *super().get_urls(),
        ]

    def record_received_view(self, request):
        """A request that came by e-mail or letter, typed in by staff with the time it was received."""
        form = RecordReceivedRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                dsr = staff.request_record_received(
                    actor=request.user,
                    kind=data["kind"],
                    email=data["email"],
                    received_at=data["received_at"],
                    full_name=data["full_name"],
                    phone_number=data["phone_number"],
                    details=data["details"],
                    objections=data["objections"],
                    identity_note=data["identity_note"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Recorded {dsr.reference}; due by {sla.due_label(dsr.due_at)}.")
                return redirect("admin:privacy_datasubjectrequest_change", dsr.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Record a request received by e-mail or letter",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "privacy/admin/record_received.html", context)

    def _due(self, obj):
        return live_due_at(obj)

    @admin.display(description="Request", ordering="pk")
    def reference_link(self, obj):
        return obj.reference

    @admin.display(description="Due by (Philippine time)")
    def live_due_at(self, obj):
        label = sla.due_label(self._due(obj))
        if obj.awaiting_identity and obj.paused_since:
            return f"Paused for proof of identity (if it arrived today: {label})"
        return label

    @admin.display(description="First answer by (Philippine time)")
    def first_answer_by(self, obj):
        return sla.due_label(obj.first_response_due_at)

    @admin.display(description="Due by", ordering="due_at")
    def due_by(self, obj):
        return sla.due_label(self._due(obj)) if obj.is_open else "—"

    @admin.display(description="Days left", ordering="due_at")
    def days_left(self, obj):
        if not obj.is_open:
            return "—"
        return sla.days_left(due_at=self._due(obj), now=timezone.now())

    @admin.display(description="Band")
    def band_badge(self, obj):
        if not obj.is_open:
            return "—"
        band = sla.band_for(due_at=self._due(obj), now=timezone.now())
        return format_html('<b style="color:{}">{}</b>', BAND_COLOURS[band], band.label)

    def save_formset(self, request, form, formset, change):
        if formset.model is RequestEvidence:
            for evidence_form in formset.forms:
                data = getattr(evidence_form, "cleaned_data", None) or {}
                if evidence_form.instance.pk is None and data.get("label"):
                    staff.request_evidence_add(
                        request=form.instance,
                        actor=request.user,
                        label=data["label"],
                        note=data.get("note", ""),
                        file=data.get("file") or None,
                    )
            return
        super().save_formset(request, form, formset, change)

    @admin.action(description="Verify identity (checked by staff; note how)")
    def action_verify(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_verify",
            title="How was the identity checked?",
            label="Verified",
            call=lambda obj, note: staff.request_verify_by_staff(request=obj, actor=request.user, note=note),
        )

    @admin.action(description="Assign to…")
    def action_assign(self, request, queryset):
        if "apply" in request.POST:
            form = AssignForm(request.POST)
            if form.is_valid():
                assignee = form.cleaned_data["assignee"]
                run_on_each(
                    self,
                    request,
                    queryset,
                    "Assigned",
                    lambda obj: staff.request_assign(request=obj, actor=request.user, assignee=assignee),
                )
                return None
        else:
            form = AssignForm()
        return render(
            request,
            "privacy/admin/action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": "Assign to",
                "form": form,
                "objects": queryset,
                "action": "action_assign",
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Start work (verified → in progress)")
    def action_start(self, request, queryset):
        run_on_each(
            self,
            request,
            queryset,
            "Started",
            lambda obj: staff.request_start(request=obj, actor=request.user),
        )

    @admin.action(description="Ask for proof of identity (the clock pauses, and restarts when it arrives)")
    def action_ask_identity(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_ask_identity",
            title="What proof of identity is needed? (sent to the requester)",
            label="Asked for proof of identity",
            call=lambda obj, what: staff.request_ask_identity(request=obj, actor=request.user, what=what),
        )

    @admin.action(description="Mark the phone number proven (say how it was checked)")
    def action_prove_phone(self, request, queryset):
        if "apply" in request.POST:
            form = StaffPhoneProofForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                run_on_each(
                    self,
                    request,
                    queryset,
                    "Number marked proven",
                    lambda obj: request_phone_prove_by_staff(
                        request=obj, actor=request.user, note=data["reason"], phone_number=data["phone_number"]
                    ),
                )
                return None
        else:
            form = StaffPhoneProofForm()
        return render(
            request,
            "privacy/admin/action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": "Mark the requester's phone number proven",
                "form": form,
                "objects": queryset,
                "action": "action_prove_phone",
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Extend the deadline once (reason is sent to the requester)")
    def action_extend(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_extend",
            title="Why is more time needed? (sent to the requester)",
            label="Extended",
            call=lambda obj, reason: staff.request_extend(request=obj, actor=request.user, reason=reason),
        )

    @admin.action(description="Run export (access)")
    def action_run_export(self, request, queryset):
        run_on_each(
            self,
            request,
            queryset,
            "Export started",
            lambda obj: fulfilment.request_run_export(request=obj, actor=request.user),
        )

    @admin.action(description="Run erasure (delete)")
    def action_run_erasure(self, request, queryset):
        run_on_each(
            self,
            request,
            queryset,
            "Erasure marked",
            lambda obj: fulfilment.request_run_erasure(request=obj, actor=request.user),
        )

    @admin.action(description="Apply objections (object)")
    def action_apply_objections(self, request, queryset):
        run_on_each(
            self,
            request,
            queryset,
            "Objections applied",
            lambda obj: fulfilment.request_apply_objections(request=obj, actor=request.user),
        )

    @admin.action(description="Apply requested updates (update)")
    def action_apply_updates(self, request, queryset):
        run_on_each(
            self,
            request,
            queryset,
            "Updates applied",
            lambda obj: fulfilment.request_apply_updates(request=obj, actor=request.user),
        )

    @admin.action(description="Complete (note is sent to the requester)")
    def action_complete(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_complete",
            title="Closing note for the requester (optional)",
            label="Completed",
            call=lambda obj, note: staff.request_complete(request=obj, actor=request.user, note=note),
            optional=True,
        )

    @admin.action(description="Reject (reason is sent with the right to complain to the NPC)")
    def action_reject(self, request, queryset):
        return with_reason_form(
            self,
            request,
            queryset,
            action="action_reject",
            title="Why is the request refused? (sent to the requester with the NPC complaint notice)",
            label="Rejected",
            call=lambda obj, reason: staff.request_reject(request=obj, actor=request.user, reason=reason),
        )

    @admin.action(description="Re-send e-mails that failed")
    def action_resend_failed_messages(self, request, queryset):
        failed = RequestMessage.objects.filter(request__in=queryset, sent_at__isnull=True).exclude(error="")
        sent = sum(request_message_deliver(message_id=m.pk).sent_at is not None for m in failed)
        self.message_user(request, f"Re-sent {sent} e-mail(s).", messages.SUCCESS)
