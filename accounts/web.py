"""Base for dashboard pages: the organization comes from the request (middleware), membership checked, role checked."""

from abc import ABCMeta, abstractmethod

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from portal.errors import ApplicationError, NotFound


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


def posted_id(request, name: str) -> int:
    """An id posted by a row's button; anything else is a 404 like an unknown id."""
    value = request.POST.get(name, "")
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
        raise NotFound("No such row.")
    return int(value)


class RowsWithAddFormView(OrganizationViewMixin, TemplateView, metaclass=ABCMeta):
    """A page of the organization's rows with a form that adds one and a button on each row that removes it.

    A POST that carries `remove_field` (the row's id as its value) removes that row; any other POST is the form. A
    service's refusal (`ApplicationError`) is shown on the form at `error_field_for(error)` and the page answers 400
    with what was typed; success redirects to `success_url_name` with a message. `can_edit` tells the template
    whether to show the form and the buttons (the POST permission).
    """

    form_class: type[forms.Form]
    success_url_name: str
    remove_field = "delete"
    error_field: str | None = None
    added_message = "Saved."
    removed_message = "Removed."

    @abstractmethod
    def add(self, form: forms.Form) -> None:
        """Create (or change) the row the valid form describes, through a service."""

    @abstractmethod
    def remove(self, row_id: int) -> None:
        """Remove one of the organization's rows, through a service (another organization's id is NotFound)."""

    def error_field_for(self, error: ApplicationError) -> str | None:
        return self.error_field

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.form_class())
        context["can_edit"] = self.membership.has_perm(self.required_permissions["POST"])
        return context

    def post(self, request, *args, **kwargs):
        if self.remove_field in request.POST:
            self.remove(posted_id(request, self.remove_field))
            messages.success(request, self.removed_message)
            return redirect(self.success_url_name)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                self.add(form)
            except ApplicationError as exc:
                form.add_error(self.error_field_for(exc), exc.message)
            else:
                messages.success(request, self.added_message)
                return redirect(self.success_url_name)
        return self.render_to_response(self.get_context_data(form=form), status=400)
