"""Base for dashboard pages: the organization comes from the request (middleware), membership checked, role checked."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect

from portal.errors import NotFound


class OrganizationViewMixin(LoginRequiredMixin):
    """Gives `self.organization` and `self.membership`; refuses a role without the permission of the method.

    Declare the permission per HTTP method, as the API views do:
    `required_permissions = {"GET": Permission.VIEW, "POST": Permission.MANAGE_MEMBERS}`. HEAD and OPTIONS are
    checked as GET; a method that is not declared is refused with 405 (fail closed).

    Selectors called from these views take `organization=self.organization`, so an id from another organization
    raises NotFound, which answers 404 like a missing object.
    """

    required_permissions: dict[str, str] = {}

    def permission_for(self, method: str) -> str | None:
        """The permission the method needs; None when the view does not accept the method."""
        return self.required_permissions.get("GET" if method in ("HEAD", "OPTIONS") else method)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = request.membership
        if not membership:
            return redirect("organization_create")
        self.membership = membership._wrapped if hasattr(membership, "_wrapped") else membership
        self.organization = self.membership.organization
        needed = self.permission_for(request.method)
        if needed is None:
            return self.http_method_not_allowed(request, *args, **kwargs)
        if not self.membership.has_perm(needed):
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
