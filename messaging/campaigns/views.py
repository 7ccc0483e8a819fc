"""Template and campaign pages: templates (list, add, edit, delete), campaigns (list with progress, compose, the
preview of every recipient's text, confirm, progress, cancel before the start)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Permission
from accounts.web import OrganizationViewMixin, RowsWithAddFormView, posted_id
from billing import selectors as billing_selectors
from messaging.campaigns import selectors, services
from messaging.campaigns.forms import CampaignForm, TemplateForm
from messaging.campaigns.models import CampaignStatus
from messaging.campaigns.preview import campaign_preview, group_contact_ids
from messaging.contacts import selectors as contact_selectors
from portal.errors import ApplicationError

CAMPAIGNS_SHOWN = 100


class TemplateListView(RowsWithAddFormView):
    template_name = "messaging/campaigns/templates.html"
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}
    form_class = TemplateForm
    success_url_name = "messaging:templates"
    added_message = "Template saved."
    removed_message = "Template deleted."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["templates"] = list(selectors.template_list(organization=self.organization))
        return context

    def add(self, form):
        """Saves a new template, or changes the one whose `template_id` the edit form posts."""
        if self.request.POST.get("template_id"):
            services.template_update(
                organization=self.organization,
                actor=self.request.user,
                template_id=posted_id(self.request, "template_id"),
                **form.cleaned_data,
            )
        else:
            services.template_create(organization=self.organization, actor=self.request.user, **form.cleaned_data)

    def remove(self, row_id):
        services.template_delete(organization=self.organization, actor=self.request.user, template_id=row_id)

    def error_field_for(self, error):
        return "name" if error.code == "duplicate_template" else "body"


class CampaignListView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/campaigns/list.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaigns = list(selectors.campaign_list(organization=self.organization)[:CAMPAIGNS_SHOWN])
        context["campaigns"] = selectors.campaigns_with_progress(organization=self.organization, campaigns=campaigns)
        context["can_send"] = self.membership.has_perm(Permission.SEND_MESSAGES)
        return context


class CampaignNewView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/campaigns/new.html"
    required_permissions = {"GET": Permission.SEND_MESSAGES, "POST": Permission.SEND_MESSAGES}

    def _form(self, data=None):
        return CampaignForm(
            data,
            groups=list(contact_selectors.group_list(organization=self.organization)),
            templates=list(selectors.template_list(organization=self.organization)),
            initial={"template": self.request.GET.get("template", "")},
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self._form())
        return context

    def post(self, request):
        form = self._form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaign = services.campaign_create(
                    organization=self.organization,
                    actor=request.user,
                    name=data["name"],
                    group_ids=[int(i) for i in data["groups"]],
                    template_id=int(data["template"]) if data["template"] else None,
                    body=data["body"],
                    sender_name=data["sender_name"],
                    send_at=data["send_at"],
                )
            except ApplicationError as exc:
                field = {"invalid_send_at": "send_at", "invalid_campaign": "name"}.get(exc.code, "body")
                form.add_error(field, exc.message)
            else:
                return redirect("messaging:campaign_detail", campaign_id=campaign.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CampaignDetailView(OrganizationViewMixin, TemplateView):
    """A draft shows the preview and the confirm button; a confirmed campaign its progress."""

    template_name = "messaging/campaigns/detail.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = selectors.campaign_get(organization=self.organization, campaign_id=kwargs["campaign_id"])
        context["campaign"] = campaign
        context["can_send"] = self.membership.has_perm(Permission.SEND_MESSAGES)
        context["can_cancel"] = context["can_send"] and services.campaign_can_cancel(campaign)
        if campaign.status == CampaignStatus.DRAFT:
            groups = list(campaign.groups.all())
            duplicates = self.request.GET.get("duplicates") == "1"
            context["send_to_duplicates"] = duplicates
            context["preview"] = preview = campaign_preview(
                organization=self.organization,
                body=campaign.body,
                contact_ids=group_contact_ids(groups=groups),
                send_to_duplicates=duplicates,
            )
            context["balance"] = billing_selectors.balance_get(organization=self.organization)
            context["enough_credits"] = context["balance"] >= Decimal(preview.price_total)
        return context


class CampaignProgressView(OrganizationViewMixin, View):
    """htmx partial polled while the campaign is going out."""

    required_permissions = {"GET": Permission.VIEW}

    def get(self, request, campaign_id):
        campaign = selectors.campaign_get(organization=self.organization, campaign_id=campaign_id)
        return render(request, "messaging/campaigns/_progress.html", {"campaign": campaign})


class CampaignConfirmView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    def post(self, request, campaign_id):
        try:
            services.campaign_confirm(
                organization=self.organization,
                actor=request.user,
                campaign_id=campaign_id,
                send_to_duplicates=request.POST.get("send_to_duplicates") == "on",
            )
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            messages.error(request, exc.message)
        else:
            messages.success(request, "Campaign confirmed: its messages are being created and charged.")
        return redirect("messaging:campaign_detail", campaign_id=campaign_id)


class CampaignCancelView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    def post(self, request, campaign_id):
        try:
            cancelled = services.campaign_cancel(
                organization=self.organization, actor=request.user, campaign_id=campaign_id
            )
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Campaign cancelled; {cancelled} message(s) refunded.")
        return redirect("messaging:campaign_detail", campaign_id=campaign_id)
