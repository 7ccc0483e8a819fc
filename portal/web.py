"""Base for dashboard views: the organization comes from the request (middleware), membership checked, role checked."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect

from accounts.roles import Permission
from portal.errors import ApplicationError, NotFound


class OrganizationViewMixin(LoginRequiredMixin):
    """Gives `self.organization` and `self.membership`; refuses a role without `permission_required`.

    Selectors called from these views take `organization=self.organization`, so an id from another organization
    raises NotFound, which answers 404 like a missing object.
    """

    permission_required: str = Permission.VIEW

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = request.membership
        if not membership:
            return redirect("organization_create")
        self.membership = membership._wrapped if hasattr(membership, "_wrapped") else membership
        self.organization = self.membership.organization
        if not self.membership.has_perm(self.permission_required):
            raise PermissionDenied("Your role in this organization does not allow this.")
        try:
            return super().dispatch(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["organization"] = self.organization
        context["membership"] = self.membership
        return context


def form_error_from(exc: ApplicationError) -> str:
    return exc.message
