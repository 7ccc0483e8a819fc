"""Pages for buying credits online: Buy (to the provider's checkout), the return and cancel pages, the billing
profile receipts are made out to, and the provider's webhook endpoint.

Buying and the profile need Permission.MANAGE_BILLING; every role can see how its organization's checkout ended.
Another organization's checkout answers 404. The webhook has no session: its signature authenticates it.
"""

import logging

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from accounts.roles import Permission
from accounts.web import OrganizationViewMixin
from billing import checkout, receipts
from billing.forms import BillingProfileForm, BuyCreditsForm
from billing.models import PaymentStatus
from billing.payment_providers.base import WebhookVerificationError
from portal.errors import ApplicationError, NotFound

logger = logging.getLogger(__name__)


class BuyCreditsView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.MANAGE_BILLING}

    def post(self, request):
        form = BuyCreditsForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a credit pack.")
            return redirect("billing:overview")
        try:
            payment = checkout.checkout_start(
                organization=self.organization,
                actor_membership=self.membership,
                pack_id=form.cleaned_data["pack"],
                site_url=request.build_absolute_uri("/"),
            )
        except NotFound:  # a pack gone meanwhile: 404 (the mixin's), not a message
            raise
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("billing:overview")
        return redirect(payment.checkout_url)


class CheckoutReturnView(OrganizationViewMixin, TemplateView):
    """Where the provider sends the customer after paying: confirms from the provider if the webhook is late."""

    template_name = "billing/checkout_return.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        payment = checkout.checkout_return_confirm(organization=self.organization, payment_id=kwargs["payment_id"])
        confirmed = payment.status == PaymentStatus.CONFIRMED
        context.update(payment=payment, receipt=getattr(payment, "receipt", None) if confirmed else None)
        return context


class CheckoutCancelView(OrganizationViewMixin, TemplateView):
    template_name = "billing/checkout_cancel.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["payment"] = checkout.checkout_return_confirm(
            organization=self.organization, payment_id=kwargs["payment_id"]
        )
        return context


class BillingProfileView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.MANAGE_BILLING}

    def post(self, request):
        form = BillingProfileForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
            return redirect("billing:overview")
        try:
            receipts.billing_profile_update(
                organization=self.organization, actor_membership=self.membership, **form.cleaned_data
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("billing:overview")
        messages.success(request, "Receipts from now on are made out to these details.")
        return redirect("billing:overview")


@csrf_exempt
@require_POST
def payment_webhook(request, provider: str):
    """A payment provider's webhook: 200 once handled (also for an event seen before), 400 when not genuine."""
    try:
        outcome = checkout.checkout_webhook_receive(provider_code=provider, headers=request.headers, body=request.body)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except WebhookVerificationError as exc:
        logger.warning("Refused a %s webhook: %s", provider, exc)
        return JsonResponse({"error": {"code": "invalid_signature", "message": str(exc)}}, status=400)
    return JsonResponse({"outcome": outcome})
