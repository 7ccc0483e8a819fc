"""Address book pages: contacts (filter by tag or group, add one, delete), CSV import in two steps (upload, then
choose what each column is), groups, and the organization's opt-out list."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from accounts.roles import Permission
from accounts.web import OrganizationViewMixin, RowsWithAddFormView
from messaging.contacts import importing, selectors, services
from messaging.contacts.forms import ContactForm, GroupForm, ImportMappingForm, ImportUploadForm, OptOutForm, tag_names
from portal.errors import ApplicationError

CONTACTS_SHOWN = 200


class ContactListView(RowsWithAddFormView):
    template_name = "messaging/contacts/list.html"
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}
    form_class = ContactForm
    success_url_name = "messaging:contacts"
    error_field = "phone_number"
    added_message = "Contact added."
    removed_message = "Contact deleted."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        group_id = params.get("group")
        group_id = int(group_id) if group_id and group_id.isdigit() else None
        contacts = selectors.contact_list(
            organization=self.organization, tag=params.get("tag", ""), group_id=group_id, phone=params.get("phone", "")
        )
        context.update(
            contacts=list(contacts[:CONTACTS_SHOWN]),
            total=contacts.count(),
            shown=CONTACTS_SHOWN,
            tags=selectors.tag_list(organization=self.organization),
            groups=list(selectors.group_list(organization=self.organization)),
            params=params,
        )
        return context

    def add(self, form):
        services.contact_create(
            organization=self.organization,
            actor=self.request.user,
            phone_number=form.cleaned_data["phone_number"],
            name=form.cleaned_data["name"],
            tags=tag_names(form.cleaned_data["tags"]),
        )

    def remove(self, row_id):
        services.contact_delete(organization=self.organization, actor=self.request.user, contact_id=row_id)


class ContactImportView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/contacts/import.html"
    required_permissions = {"GET": Permission.SEND_MESSAGES, "POST": Permission.SEND_MESSAGES}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportUploadForm())
        return context

    def post(self, request):
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                pending = importing.pending_import_store(
                    organization=self.organization, upload=form.cleaned_data["file"]
                )
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("messaging:contacts_import_map", import_id=pending.id)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ContactImportMapView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/contacts/import_map.html"
    required_permissions = {"GET": Permission.SEND_MESSAGES, "POST": Permission.SEND_MESSAGES}

    def _pending(self, import_id):
        pending, _ = importing.pending_import_get(organization=self.organization, import_id=import_id)
        return pending

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pending = kwargs.get("pending") or self._pending(kwargs["import_id"])
        context["pending"] = pending
        context.setdefault(
            "form", ImportMappingForm(header=pending.header, initial_mapping=importing.guess_mapping(pending.header))
        )
        context["groups"] = list(selectors.group_list(organization=self.organization))
        return context

    def post(self, request, import_id):
        pending = self._pending(import_id)
        form = ImportMappingForm(request.POST, header=pending.header, initial_mapping={})
        if form.is_valid():
            try:
                result = importing.pending_import_finish(
                    organization=self.organization,
                    actor=request.user,
                    import_id=import_id,
                    mapping=form.mapping(),
                    group_name=form.cleaned_data["group_name"],
                    tags=tag_names(form.cleaned_data["tags"]),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                summary = f"{result.created} contacts added, {result.updated} updated."
                if result.duplicates_in_file:
                    summary += f" {result.duplicates_in_file} rows repeated a number already in the file (merged)."
                if result.invalid:
                    rows = ", ".join(str(e["row"]) for e in result.errors[:10])
                    summary += f" {result.invalid} rows skipped for a bad number (rows {rows})."
                messages.success(request, summary)
                target = "messaging:contacts"
                if result.group_id:
                    return redirect(f"{reverse(target)}?group={result.group_id}")
                return redirect(target)
        return self.render_to_response(self.get_context_data(pending=pending, form=form), status=400)


class GroupListView(RowsWithAddFormView):
    template_name = "messaging/contacts/groups.html"
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}
    form_class = GroupForm
    success_url_name = "messaging:contact_groups"
    error_field = "name"
    added_message = "Group created."
    removed_message = "Group deleted; its contacts stay in the address book."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["groups"] = list(selectors.group_list(organization=self.organization))
        return context

    def add(self, form):
        services.group_create(organization=self.organization, actor=self.request.user, **form.cleaned_data)

    def remove(self, row_id):
        services.group_delete(organization=self.organization, actor=self.request.user, group_id=row_id)


class OptOutListView(RowsWithAddFormView):
    template_name = "messaging/contacts/opt_outs.html"
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}
    form_class = OptOutForm
    success_url_name = "messaging:opt_outs"
    remove_field = "remove"
    error_field = "phone_number"
    added_message = "Number added: nothing more is sent to it from this organization."
    removed_message = "Number removed from the opt-out list; it can be sent to again."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["opt_outs"] = list(selectors.opt_out_list(organization=self.organization)[:500])
        return context

    def add(self, form):
        services.opt_out_add(organization=self.organization, actor=self.request.user, **form.cleaned_data)

    def remove(self, row_id):
        services.opt_out_remove(organization=self.organization, actor=self.request.user, opt_out_id=row_id)
