"""Staff admin for the engine: the provider chain (health, quota, circuit, test send), messages (read-only),
dispatch attempts (with the decision for unknown outcomes), notices, webhook deliveries and route explain."""

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import IntegerField, OuterRef, Subquery, URLField
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Organization
from messaging import admin_sender_names  # noqa: F401 (registers the sender names admin)
from messaging.contacts import admin as contacts_admin  # noqa: F401 (registers the address book and campaigns admin)
from messaging.dispatch.reconcile import AttemptDecision, dispatch_attempt_resolve
from messaging.models import (
    AttemptStatus,
    DeliveryReceipt,
    DispatchAttempt,
    Message,
    Notice,
    Provider,
    ProviderMonthlyUsage,
    WebhookDelivery,
    WebhookEndpoint,
)
from messaging.numbers import Network
from messaging.providers.registry import adapter_choices
from messaging.selectors import recipient_lookup_hash
from messaging.services.notices import notice_publish, notice_withdraw
from messaging.services.providers import provider_callback_url, provider_circuit_reset, provider_test_send
from messaging.services.sending import route_explain
from portal.errors import ApplicationError
from portal.timezone import month_start


class ProviderForm(forms.ModelForm):
    adapter = forms.ChoiceField(choices=())
    base_url = forms.URLField(max_length=300, assume_scheme="https")
    networks = forms.MultipleChoiceField(
        choices=[(v, label) for v, label in Network.choices if v != Network.UNKNOWN],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked = all networks",
    )
    # Write-only: stored credentials are never sent back to a browser; leaving the field empty keeps them.
    credentials = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        required=False,
        help_text='JSON object, e.g. {"api_token": "..."}; stored encrypted. Leave empty to keep the stored ones.',
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "adapter",
            "base_url",
            "credentials",
            "sender_name",
            "networks",
            "monthly_quota",
            "priority",
            "enabled",
            "timeout_seconds",
            "callback_secret",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["adapter"].choices = adapter_choices()
        self.initial["credentials"] = ""
        if self.instance.pk and self.instance.credentials:
            self.fields["credentials"].help_text += " Credentials are stored."

    def clean_credentials(self):
        raw = self.cleaned_data.get("credentials") or ""
        if not raw.strip():
            return self.instance.credentials if self.instance.pk else ""
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}")
        if not isinstance(value, dict):
            raise forms.ValidationError("Credentials must be a JSON object.")
        return json.dumps(value)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = [
        "name",
        "priority",
        "adapter",
        "sender_name",
        "enabled",
        "circuit_state",
        "quota_used",
        "monthly_quota",
        "exhausted_until",
        "last_success_at",
        "last_error_at",
    ]
    list_editable = ["priority", "enabled"]
    ordering = ["priority", "id"]
    readonly_fields = [
        "callback_url",
        "circuit_state",
        "consecutive_failures",
        "circuit_opened_at",
        "probe_started_at",
        "exhausted_until",
        "last_error",
        "last_error_at",
        "last_success_at",
    ]
    actions = ["test_send", "reset_circuit"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        usage = ProviderMonthlyUsage.objects.filter(provider=OuterRef("pk"), month=month_start(timezone.now()))
        return (
            super()
            .get_queryset(request)
            .annotate(used=Coalesce(Subquery(usage.values("messages")[:1]), 0, output_field=IntegerField()))
        )

    @admin.display(description="Used this month (Manila)", ordering="used")
    def quota_used(self, obj):
        return obj.used

    @admin.display(description="Delivery-receipt URL (give to the provider)")
    def callback_url(self, obj):
        return provider_callback_url(obj) if obj.pk else "(after saving)"

    @admin.action(description="Send a test SMS to my own phone number")
    def test_send(self, request, queryset):
        phone = getattr(request.user, "phone_number", "")
        if not phone:
            self.message_user(request, "Add a phone number to your user first.", messages.ERROR)
            return
        for provider in queryset:
            try:
                result = provider_test_send(provider=provider, recipient=phone, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{provider.name}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{provider.name}: accepted as {result.provider_message_id}")

    @admin.action(description="Close the circuit and clear 'limit reached'")
    def reset_circuit(self, request, queryset):
        for provider in queryset:
            provider_circuit_reset(provider=provider, actor=request.user)
        self.message_user(request, f"{queryset.count()} provider(s) reset.")

    def get_urls(self):
        return [
            path(
                "route-explain/",
                self.admin_site.admin_view(self.route_explain_view),
                name="messaging_provider_route_explain",
            )
        ] + super().get_urls()

    def route_explain_view(self, request):
        form = RouteExplainForm(request.POST or None)
        explanation, error = None, None
        if request.method == "POST" and form.is_valid():
            try:
                explanation = route_explain(
                    organization=form.cleaned_data["organization"],
                    recipient=form.cleaned_data["to"],
                    body=form.cleaned_data["body"],
                ).as_dict()
            except ApplicationError as exc:
                error = exc.message
        context = {
            **self.admin_site.each_context(request),
            "title": "Route explain",
            "form": form,
            "explanation": explanation,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/messaging/route_explain.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "route_explain_url": reverse("admin:messaging_provider_route_explain"),
        }
        return super().changelist_view(request, extra_context=extra_context)


class RouteExplainForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"))
    to = forms.CharField(label="Recipient")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DispatchAttemptInline(admin.TabularInline):
    model = DispatchAttempt
    extra = 0
    can_delete = False
    fields = [
        "attempt_number",
        "provider",
        "status",
        "sender_name",
        "reason",
        "skipped",
        "error_code",
        "started_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "recipient",
        "sender_name",
        "status",
        "provider",
        "network",
        "channel",
        "segments",
        "price",
        "created_at",
    ]
    list_filter = ["status", "channel", "network", "provider", "encoding", "created_at"]
    list_select_related = ["organization", "provider"]
    # A number in any form (0917..., +63917..., 63917...) is matched by its keyed hash below; a name by organization.
    search_fields = ["=provider_message_id", "=id", "organization__name"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [DispatchAttemptInline]

    def get_search_results(self, request, queryset, search_term):
        # The number is encrypted: a search that reads as a number also matches its keyed hash.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and not (term.isdigit() and len(term) < 10):  # a short number is a message id
            found |= queryset.filter(recipient_hash=recipient_lookup_hash(term))
        return found, may_have_duplicates


@admin.register(DispatchAttempt)
class DispatchAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "message_link",
        "attempt_number",
        "provider",
        "status",
        "sender_name",
        "error_code",
        "started_at",
    ]
    list_filter = ["status", "provider", "started_at"]
    list_select_related = ["provider", "message"]
    search_fields = ["=message__id", "=provider_message_id"]
    actions = ["resolve_mark_sent", "resolve_resend", "resolve_fail"]

    @admin.display(description="Message")
    def message_link(self, obj):
        url = reverse("admin:messaging_message_change", args=[obj.message_id])
        return format_html('<a href="{}">{}</a>', url, obj.message_id)

    def _resolve(self, request, queryset, decision):
        done = 0
        for attempt in queryset.filter(status=AttemptStatus.UNKNOWN):
            dispatch_attempt_resolve(attempt_id=attempt.pk, decision=decision, actor=request.user)
            done += 1
        self.message_user(request, f"{done} attempt(s) with an unknown outcome resolved: {decision}.")

    @admin.action(description="Unknown outcome: the provider got it (mark sent)")
    def resolve_mark_sent(self, request, queryset):
        self._resolve(request, queryset, AttemptDecision.MARK_SENT)

    @admin.action(description="Unknown outcome: it never arrived (send again)")
    def resolve_resend(self, request, queryset):
        self._resolve(request, queryset, AttemptDecision.RESEND)

    @admin.action(description="Unknown outcome: give up and refund")
    def resolve_fail(self, request, queryset):
        self._resolve(request, queryset, AttemptDecision.FAIL)


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "dedupe_key", "published_at", "withdrawn_at"]
    list_filter = ["kind", "withdrawn_at"]
    fields = ["kind", "title", "body", "dedupe_key"]
    actions = ["withdraw"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def save_model(self, request, obj, form, change):
        notice = notice_publish(
            kind=obj.kind, title=obj.title, body=obj.body, dedupe_key=obj.dedupe_key, actor=request.user
        )
        obj.pk = notice.pk

    @admin.action(description="Withdraw")
    def withdraw(self, request, queryset):
        for notice in queryset.filter(withdrawn_at__isnull=True):
            notice_withdraw(dedupe_key=notice.dedupe_key, actor=request.user)
        self.message_user(request, "Withdrawn.")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["organization", "url", "enabled", "updated_at"]
    list_select_related = ["organization"]
    exclude = ["secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "event",
        "message_id",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "event", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["=message__id"]


@admin.register(DeliveryReceipt)
class DeliveryReceiptAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "provider",
        "provider_message_id",
        "state",
        "message_id",
        "received_at",
        "applied_at",
    ]
    list_filter = ["provider", "state"]
    list_select_related = ["provider"]
    search_fields = ["=provider_message_id"]
