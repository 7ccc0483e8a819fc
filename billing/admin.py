"""Billing admin. The ledger is read-only; every change of credits goes through a service:

- Payments: the add form calls `payment_record` (confirmed at once, or pending); a saved payment cannot be
  edited, so saving again never adds credits twice (and `payment_confirm` is idempotent besides).
- Credit accounts: plan / monthly limit / alert threshold through `credit_account_settings_update`; the
  "Adjust credits" page calls `credits_adjust` and requires a reason.
- Price plans: "make default" through `price_plan_make_default` (exactly one default, a DB constraint).
- Credit packs: what the billing page sells online; the peso price is the pack's credits at the buyer's plan's PHP
  per credit. Online checkouts are confirmed by the provider only ("ask the provider" action), never by hand.
"""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billing import checkout, price_plans, services
from billing.forms import CreditAdjustmentForm, PaymentAddForm
from billing.models import (
    CreditAccount,
    CreditPack,
    LedgerEntry,
    Payment,
    PaymentProviderEvent,
    PaymentStatus,
    PricePlan,
    Receipt,
)
from billing.money import quantize_credits
from billing.selectors import price_plan_default
from portal.errors import ApplicationError


@admin.register(PricePlan)
class PricePlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "price_per_segment",
        "credit_price_php",
        "api_requests_per_minute_per_key",
        "api_requests_per_minute_per_organization",
        "is_default",
        "created_at",
    ]
    readonly_fields = ["is_default", "created_at"]
    actions = ["make_default"]

    @admin.action(description="Make the selected plan the default")
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one plan.", messages.ERROR)
            return
        plan = price_plans.price_plan_make_default(plan=queryset.get(), actor=request.user)
        self.message_user(request, f"{plan.name} is now the default plan.", messages.SUCCESS)


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "balance",
        "price_plan",
        "monthly_segment_limit",
        "usage_segments",
        "usage_month",
        "low_balance_threshold",
        "adjust_link",
    ]
    list_select_related = ["organization", "price_plan"]
    search_fields = ["organization__name", "organization__slug"]
    list_filter = ["price_plan"]
    fields = [
        "organization",
        "balance",
        "price_plan",
        "monthly_segment_limit",
        "usage_month",
        "usage_segments",
        "low_balance_threshold",
        "low_balance_alerted",
        "billing_name",
        "billing_tin",
        "billing_address",
        "adjust_link",
    ]
    # The billing name, TIN and address are the customer's own (billing page), shown here for reference.
    readonly_fields = [
        "balance",
        "usage_month",
        "usage_segments",
        "low_balance_alerted",
        "billing_name",
        "billing_tin",
        "billing_address",
        "adjust_link",
    ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization"] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Adjust")
    def adjust_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">Adjust credits…</a>', reverse("admin:billing_creditaccount_adjust", args=[obj.pk])
        )

    def save_model(self, request, obj, form, change):
        try:
            account = services.credit_account_settings_update(
                organization=obj.organization,
                actor=request.user,
                price_plan=form.cleaned_data.get("price_plan"),
                monthly_segment_limit=form.cleaned_data.get("monthly_segment_limit"),
                low_balance_threshold=form.cleaned_data.get("low_balance_threshold"),
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = account.pk
        obj._state.adding = False

    def get_urls(self):
        return [
            path(
                "<int:account_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="billing_creditaccount_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request, account_id: int):
        account = get_object_or_404(CreditAccount.objects.select_related("organization"), pk=account_id)
        if not self.has_change_permission(request, account):
            return redirect("admin:index")
        form = CreditAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = services.credits_adjust(
                    organization=account.organization,
                    actor=request.user,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    via="admin",
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"Adjusted {account.organization} by {entry.amount}; the balance is now {entry.balance_after}.",
                    messages.SUCCESS,
                )
                return redirect("admin:billing_creditaccount_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust credits: {account.organization}",
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin_adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "organization",
        "kind",
        "amount",
        "balance_after",
        "segments",
        "message_id",
        "payment",
        "actor",
        "reason",
    ]
    list_filter = ["kind", "created_at"]
    search_fields = ["organization__slug", "organization__name", "reason", "=message_id"]
    list_select_related = ["organization", "actor", "payment"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the ledger grows without bound: no COUNT(*) of the whole table per page

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "organization",
        "method",
        "amount_php",
        "credits",
        "status",
        "reference",
        "receipt_number",
    ]
    list_filter = ["status", "method", "provider", "created_at"]
    search_fields = ["organization__slug", "organization__name", "reference", "external_id", "receipt__number"]
    list_select_related = ["organization", "receipt"]
    actions = ["confirm_selected", "fail_selected", "check_with_provider"]
    add_form = PaymentAddForm

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "method", "amount_php", "credits", "reference", "notes", "confirm_now"]
        return [
            "organization",
            "method",
            "amount_php",
            "credits",
            "reference",
            "provider",
            "external_id",
            "provider_intent_id",
            "pack",
            "status",
            "recorded_by",
            "created_at",
            "confirmed_at",
            "failed_at",
            "failure_reason",
            "notes",
            "receipt_link",
        ]

    def get_readonly_fields(self, request, obj=None):
        # A recorded payment is a financial record: nothing on it is edited in place.
        return self.get_fields(request, obj) if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Receipt")
    def receipt_link(self, obj):
        receipt = getattr(obj, "receipt", None)
        if receipt is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_receipt_change", args=[receipt.pk]), receipt.number
        )

    @admin.display(description="Receipt")
    def receipt_number(self, obj):
        receipt = getattr(obj, "receipt", None)
        return receipt.number if receipt is not None else "—"

    def save_model(self, request, obj, form, change):
        if change:
            return  # every field is read-only once recorded; nothing to save, and never a second top-up
        data = form.cleaned_data
        payment = services.payment_record(
            organization=data["organization"],
            actor=request.user,
            method=data["method"],
            amount_php=data["amount_php"],
            credits=data.get("credits"),
            reference=data.get("reference", ""),
            notes=data.get("notes", ""),
            confirm=data.get("confirm_now", False),
        )
        obj.pk = payment.pk
        obj.status = payment.status
        obj.credits = payment.credits
        obj._state.adding = False

    @admin.action(description="Confirm selected pending payments (adds credits, issues receipts)")
    def confirm_selected(self, request, queryset):
        confirmed = 0
        # An online checkout is paid when its provider says so ("ask the provider"), never by hand.
        pending = queryset.filter(status=PaymentStatus.PENDING, provider="")
        for payment_id in pending.values_list("id", flat=True):
            try:
                services.payment_confirm(payment_id=payment_id, actor=request.user)
                confirmed += 1
            except ApplicationError as exc:
                self.message_user(request, f"Payment {payment_id}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{confirmed} payment(s) confirmed.", messages.SUCCESS)

    @admin.action(description="Mark selected pending payments as failed (no credits)")
    def fail_selected(self, request, queryset):
        failed = 0
        for payment_id in queryset.filter(status=PaymentStatus.PENDING).values_list("id", flat=True):
            services.payment_fail(payment_id=payment_id, actor=request.user, reason=f"Marked failed by {request.user}")
            failed += 1
        self.message_user(request, f"{failed} payment(s) marked failed.", messages.SUCCESS)

    @admin.action(description="Ask the payment provider about selected online checkouts")
    def check_with_provider(self, request, queryset):
        for payment_id in queryset.exclude(provider="").values_list("id", flat=True):
            outcome = checkout.checkout_check(payment_id=payment_id)
            self.message_user(request, f"Payment {payment_id}: {outcome}.", messages.INFO)


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ["name", "credits", "price_at_default_plan", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]
    fields = ["name", "credits", "is_active", "sort_order", "price_at_default_plan"]
    readonly_fields = ["price_at_default_plan"]

    @admin.display(description="Price at the default plan (PHP)")
    def price_at_default_plan(self, obj):
        if obj is None or obj.credits is None:
            return "—"
        plan = price_plan_default()
        return f"₱{quantize_credits(obj.credits * plan.credit_price_php):,} at ₱{plan.credit_price_php}/credit"

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.payments.exists()


@admin.register(PaymentProviderEvent)
class PaymentProviderEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "event_type", "event_id", "payment", "outcome"]
    list_filter = ["provider", "event_type"]
    search_fields = ["event_id", "payment__external_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin):
    list_display = ["number", "issued_at", "organization", "amount_php", "credits", "method", "reference"]
    list_filter = ["method", "year"]
    search_fields = ["number", "organization__slug", "organization__name", "reference"]
    list_select_related = ["organization"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
