from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from messaging.dashboard import DashboardView

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("privacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_docs"),
]

# Billing was part of the accounts app; staff bookmarks of its admin pages keep working.
billing_admin_moved = RedirectView.as_view(url="/admin/billing/%(model)s/%(rest)s", query_string=True, permanent=True)

urlpatterns = [
    re_path(
        r"^admin/accounts/(?P<model>creditaccount|ledgerentry|payment|priceplan|receipt|receiptcounter)/(?P<rest>.*)$",
        billing_admin_moved,
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("billing/", include("billing.urls")),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("messages/", include("messaging.urls")),
    path("privacy/data/", include("privacy.data.urls")),
    path("privacy/", include("privacy.urls")),
    path("", include("accounts.urls")),
]
