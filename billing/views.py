"""Billing pages: overview (balance, usage, alert threshold, activity, top-ups), statements (+ CSV) and receipts.

Every role can read; changing the alert threshold needs Permission.MANAGE_BILLING (admins and owners).
"""

import csv
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Permission
from accounts.web import OrganizationViewMixin
from billing import selectors, services
from billing.forms import BillingProfileForm, LowBalanceThresholdForm
from portal.csv_export import operator_iso
from portal.errors import ApplicationError
from portal.timezone import month_start, next_month

LEDGER_PAGE_SIZE = 25
RECENT_PAYMENTS = 10
RECEIPTS_PAGE_SIZE = 50


class BillingOverviewView(OrganizationViewMixin, TemplateView):
    template_name = "billing/overview.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = selectors.credit_account_get(organization=self.organization)
        used, limit = selectors.usage_from_account(account)
        plan = selectors.price_plan_for(organization=self.organization, account=account)
        balance = account.balance if account is not None else selectors.ZERO
        threshold = account.low_balance_threshold if account is not None else None
        ledger_page = Paginator(selectors.ledger_entry_list(organization=self.organization), LEDGER_PAGE_SIZE).get_page(
            self.request.GET.get("page")
        )
        context.update(
            balance=balance,
            plan=plan,
            segments_affordable=int(balance // plan.price_per_segment),
            used_this_month=used,
            monthly_limit=limit,
            usage_percent=min(100, round(used * 100 / limit)) if limit else None,
            resets_on=next_month(month_start()),
            threshold=threshold,
            below_threshold=threshold is not None and balance < threshold,
            can_manage=self.membership.has_perm(Permission.MANAGE_BILLING),
            threshold_form=kwargs.get("threshold_form") or LowBalanceThresholdForm(initial={"threshold": threshold}),
            ledger_page=ledger_page,
            payments=list(selectors.payment_list(organization=self.organization)[:RECENT_PAYMENTS]),
            issuer=settings.BILLING_RECEIPT_ISSUER,
            pack_offers=selectors.credit_pack_offers(organization=self.organization, account=account),
            credit_price_php=plan.credit_price_php,
            profile_form=BillingProfileForm(instance=account),
        )
        return context


class LowBalanceThresholdView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.MANAGE_BILLING}

    def post(self, request):
        form = LowBalanceThresholdForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
            return redirect("billing:overview")
        threshold = form.cleaned_data["threshold"]
        try:
            services.low_balance_threshold_set(
                organization=self.organization, actor_membership=self.membership, threshold=threshold
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("billing:overview")
        if threshold is None:
            messages.success(request, "Low-balance alert turned off.")
        else:
            messages.success(
                request,
                f"Owners and admins will get one e-mail when the balance falls below {threshold} credits.",
            )
        return redirect("billing:overview")


class _MonthMixin:
    def month(self):
        try:
            return selectors.parse_month(self.request.GET.get("month")), None
        except ApplicationError as exc:
            return month_start(), exc.message


class StatementView(OrganizationViewMixin, _MonthMixin, TemplateView):
    template_name = "billing/statement.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        month, error = self.month()
        if error:
            messages.error(self.request, error)
        context.update(
            statement=selectors.statement_get(organization=self.organization, month=month),
            month_value=f"{month:%Y-%m}",
            previous_month=f"{month - timedelta(days=1):%Y-%m}",
            next_month=f"{next_month(month):%Y-%m}",
        )
        return context


def _cell(value) -> str:
    """CSV cell for free text: a leading = + - @ would make a spreadsheet evaluate it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class StatementCSVView(OrganizationViewMixin, _MonthMixin, View):
    required_permissions = {"GET": Permission.VIEW}

    def get(self, request):
        month, error = self.month()
        if error:
            return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
        statement = selectors.statement_get(organization=self.organization, month=month)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="statement-{self.organization.slug}-{month:%Y-%m}.csv"'
        writer = csv.writer(response)
        writer.writerow(["Statement", _cell(self.organization.name), f"{month:%Y-%m}", "credits"])
        writer.writerow(["Opening balance", statement.opening_balance])
        writer.writerow(["Top-ups", statement.credits_topped_up])
        writer.writerow(["Charged", statement.credits_charged])
        writer.writerow(["Refunded", statement.credits_refunded])
        writer.writerow(["Adjustments", statement.totals["adjustment"]])
        writer.writerow(["Expired", statement.credits_expired])
        writer.writerow(["Closing balance", statement.closing_balance])
        writer.writerow(["Segments charged", statement.segments_charged])
        writer.writerow(["Segments refunded", statement.segments_refunded])
        writer.writerow([])
        writer.writerow(
            ["Network", "Provider", "Messages", "Segments", "Failed segments (refunded)", "Billable segments"]
        )
        for row in statement.traffic:
            writer.writerow(
                [
                    _cell(row["network"]),
                    _cell(row["provider"]),
                    row["messages"],
                    row["segments"],
                    row["failed_segments"],
                    row["billable_segments"],
                ]
            )
        writer.writerow([])
        writer.writerow(["Top-up time (Asia/Manila)", "Receipt", "Method", "Reference", "Amount paid (PHP)", "Credits"])
        for entry in statement.topups:
            payment = entry.payment
            receipt = getattr(payment, "receipt", None)
            writer.writerow(
                [
                    operator_iso(entry.created_at),  # Manila, with its +08:00 written like every export
                    receipt.number if receipt else "",
                    payment.get_method_display(),
                    _cell(payment.reference),
                    payment.amount_php,
                    entry.amount,
                ]
            )
        return response


class ReceiptListView(OrganizationViewMixin, TemplateView):
    template_name = "billing/receipts.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["receipts_page"] = Paginator(
            selectors.receipt_list(organization=self.organization), RECEIPTS_PAGE_SIZE
        ).get_page(self.request.GET.get("page"))
        return context


class ReceiptDetailView(OrganizationViewMixin, TemplateView):
    """A printable HTML receipt; `?download=1` serves the same page as a file to keep."""

    template_name = "billing/receipt.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["receipt"] = selectors.receipt_get(organization=self.organization, number=kwargs["number"])
        context["issuer"] = settings.BILLING_RECEIPT_ISSUER
        context["manila_tz"] = settings.TIME_ZONE
        return context

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if self.request.GET.get("download"):
            response["Content-Disposition"] = f'attachment; filename="{context["receipt"].number}.html"'
        return response
