"""The admin site: staff work across every organization, so its views run with tenant queries opened.

Tenant-owned models refuse unscoped queries (`portal.tenancy`). Admin is the one place built to see every
organization, including Django's own model validation, inline formsets and foreign-key choices it runs; rather than
patch each of those, every admin view runs inside `unscoped_queries("admin")`, and its response is rendered inside
it too (a TemplateResponse would otherwise render, and query, after the block has closed).

Its index is the staff landing page: above the model list, what needs staff now (`portal.staff_attention`, one panel
per app, each finding linking to its admin list).
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from portal.staff_attention import attention_panels
from portal.tenancy import unscoped_queries


class PortalAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        protected = super().admin_view(view, cacheable)

        @wraps(view)
        def across_organizations(request, *args, **kwargs):
            with unscoped_queries("admin"):
                response = protected(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return across_organizations

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "attention_panels": attention_panels()}
        return super().index(request, extra_context)


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PortalAdminSite"
