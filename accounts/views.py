"""Pages of accounts: home, organization switch/create/settings, members, invitations, API keys, sign-ins.

Views parse input, call a service and render; errors from services become form errors or messages.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts import selectors, services, usage_selectors
from accounts.active_organization import active_organization_clear, active_organization_set
from accounts.adapters import invitation_remember
from accounts.forms import APIKeyForm, InvitationForm, MemberRoleForm, OrganizationForm
from accounts.models import Invitation, InvitationStatus
from accounts.roles import Permission, Role
from accounts.web import OrganizationViewMixin
from portal import throttling
from portal.errors import ApplicationError, NotFound


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "portal/home.html")


@login_required
def organization_switch(request):
    if request.method != "POST":
        return HttpResponseBadRequest("POST an organization_id.")
    try:
        organization_id = int(request.POST.get("organization_id", ""))
        membership = selectors.membership_get(user=request.user, organization_id=organization_id)
    except (ValueError, NotFound):
        raise Http404("No such organization.")
    active_organization_set(session=request.session, organization_id=membership.organization_id)
    messages.info(request, f"Now working in {membership.organization.name}.")
    return redirect("dashboard")


class OrganizationCreateView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "accounts/organization_create.html", {"form": OrganizationForm()})

    def post(self, request):
        form = OrganizationForm(request.POST)
        if form.is_valid():
            try:
                organization = services.organization_create(name=form.cleaned_data["name"], owner=request.user)
            except ApplicationError as exc:
                form.add_error("name", exc.message)
            else:
                active_organization_set(session=request.session, organization_id=organization.id)
                messages.success(request, f"Created {organization.name}.")
                return redirect("dashboard")
        return render(request, "accounts/organization_create.html", {"form": form}, status=400)


class OrganizationSettingsView(OrganizationViewMixin, TemplateView):
    template_name = "accounts/organization_settings.html"
    # Every member may post: each action's service checks its own permission, and a refusal is shown on the page.
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.VIEW}

    def post(self, request):
        action = request.POST.get("action")
        try:
            if action == "delete":
                if request.POST.get("confirm_slug") != self.organization.slug:
                    raise ApplicationError("Type the organization's slug to confirm.")
                services.organization_close(
                    organization=self.organization,
                    actor_membership=self.membership,
                    reason="deleted by owner",
                )
                active_organization_clear(session=request.session)
                messages.success(request, f"{self.organization.name} was deleted.")
                return redirect("home")
            if action == "rename":
                form = OrganizationForm(request.POST)
                if not form.is_valid():
                    raise ApplicationError("Give the organization a name of at most 120 characters.")
                organization = services.organization_rename(
                    organization=self.organization, actor_membership=self.membership, name=form.cleaned_data["name"]
                )
                messages.success(request, f"The organization is now called {organization.name}.")
            if action == "transfer":
                services.organization_transfer_ownership(
                    organization=self.organization,
                    actor_membership=self.membership,
                    new_owner_membership_id=int(request.POST.get("membership_id", "0")),
                )
                messages.success(request, "Ownership transferred.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("organization_settings")
        return redirect("organization_settings")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = selectors.member_list(organization=self.organization)
        context["can_rename"] = self.membership.has_perm(Permission.RENAME_ORGANIZATION)
        return context


class MembersView(OrganizationViewMixin, TemplateView):
    template_name = "accounts/members.html"
    # Every member may post (leaving is open to all); the other actions' services check MANAGE_MEMBERS.
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = selectors.member_list(organization=self.organization)
        context["invitations"] = selectors.invitation_list_pending(organization=self.organization)
        context["invite_form"] = kwargs.get("invite_form") or InvitationForm()
        context["roles"] = Role.choices
        context["can_manage"] = self.membership.has_perm(Permission.MANAGE_MEMBERS)
        return context

    def post(self, request):
        action = request.POST.get("action")
        try:
            if action == "invite":
                form = InvitationForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(invite_form=form), status=400)
                services.invitation_create(
                    organization=self.organization,
                    actor_membership=self.membership,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            elif action == "role":
                form = MemberRoleForm(request.POST)
                if not form.is_valid():
                    raise ApplicationError("Choose a valid role.")
                services.membership_change_role(
                    organization=self.organization,
                    actor_membership=self.membership,
                    membership_id=int(request.POST.get("membership_id", "0")),
                    role=form.cleaned_data["role"],
                )
                messages.success(request, "Role changed.")
            elif action == "remove":
                services.membership_remove(
                    organization=self.organization,
                    actor_membership=self.membership,
                    membership_id=int(request.POST.get("membership_id", "0")),
                )
                messages.success(request, "Member removed.")
            elif action == "revoke_invitation":
                services.invitation_revoke(
                    organization=self.organization,
                    actor_membership=self.membership,
                    invitation_id=int(request.POST.get("invitation_id", "0")),
                )
                messages.success(request, "Invitation withdrawn.")
            else:
                return HttpResponseBadRequest("Unknown action.")
        except NotFound:
            raise Http404("No such member or invitation.")
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "Invalid input."))
            status = getattr(exc, "status", 400)
            return self.render_to_response(self.get_context_data(), status=status)
        return redirect("members")


class InvitationAcceptView(View):
    """The invitation link: names the organization and the role. Someone without an account signs up from here
    with the invited address already proven (no verification e-mail) and joins the organization instead of getting
    an empty one of their own (`accounts.adapters`); someone signed in accepts with one click."""

    def get(self, request, token):
        invitation = (
            Invitation.objects.unscoped()
            .select_related("organization", "invited_by")
            .filter(token_hash=services._sha256(token))
            .first()
        )
        if invitation is None:
            raise Http404("This invitation link is not valid.")
        context = {"invitation": invitation, "token": token, "here": request.get_full_path()}
        usable = invitation.status == InvitationStatus.PENDING and invitation.expires_at > timezone.now()
        context["usable"] = usable
        if not request.user.is_authenticated and usable:
            invitation_remember(request, token=token, email=invitation.email)
            context["has_account"] = selectors.user_exists(email=invitation.email)
        return render(request, "accounts/invitation_accept.html", context)

    def post(self, request, token):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except NotFound:
            raise Http404("This invitation link is not valid.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return render(
                request,
                "accounts/invitation_accept.html",
                {"error": exc.message, "token": token},
                status=exc.status,
            )
        active_organization_set(session=request.session, organization_id=membership.organization_id)
        messages.success(request, f"Welcome to {membership.organization.name}.")
        return redirect("dashboard")


class APIKeysView(OrganizationViewMixin, TemplateView):
    template_name = "accounts/api_keys.html"
    # The services check MANAGE_API_KEYS, so a refusal is shown on the page with the list of keys.
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_keys"] = selectors.api_key_list(organization=self.organization)
        context["form"] = kwargs.get("form") or APIKeyForm()
        context["can_manage"] = self.membership.has_perm(Permission.MANAGE_API_KEYS)
        context["api_base"] = self.request.build_absolute_uri(reverse("api_me")).rsplit("/me", 1)[0]
        context["rate_limits"] = throttling.rate_limits_for(self.organization.pk)
        context["usage_days"] = usage_selectors.api_usage_per_day(organization=self.organization)
        context["usage_keys"] = usage_selectors.api_usage_per_key(organization=self.organization)
        context["usage_peak"] = max([1, *(day.calls for day in context["usage_days"])])
        return context

    def post(self, request):
        action = request.POST.get("action", "create")
        try:
            if action == "revoke":
                services.api_key_revoke(
                    organization=self.organization,
                    actor=request.user,
                    actor_membership=self.membership,
                    api_key_id=int(request.POST.get("api_key_id", "0")),
                )
                messages.success(request, "Key revoked. Requests using it are refused from now on.")
                return redirect("api_keys")
            form = APIKeyForm(request.POST)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(form=form), status=400)
            api_key, raw_key = services.api_key_create(
                organization=self.organization,
                actor=request.user,
                actor_membership=self.membership,
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data.get("expires_at"),
                scopes=form.cleaned_data["scopes"],
            )
        except NotFound:
            raise Http404("No such API key.")
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "Invalid input."))
            return self.render_to_response(self.get_context_data(), status=getattr(exc, "status", 400))
        # Shown once, in this response only: the database keeps a hash.
        return self.render_to_response(self.get_context_data(new_key=raw_key, new_key_obj=api_key), status=201)


class LoginHistoryView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/login_history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["records"] = selectors.login_record_list(user=self.request.user)
        return context
