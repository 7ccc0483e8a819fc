from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from accounts import staff_access
from messaging.compat.urls import iprog_urlpatterns, semaphore_urlpatterns
from messaging.dashboard import DashboardView
from messaging.sender_names_urls import api_urlpatterns as sender_names_api
from messaging.sender_names_urls import page_urlpatterns as sender_names_pages
from portal.monitoring import views as monitoring

# IPROG's paths come before the native API's (with or without a trailing slash); then sending, which
# integrations call most, so that its requests try few patterns.
api_v1 = [
    path("", include(iprog_urlpatterns)),
    path("", include("messaging.api_urls")),
    path("", include(sender_names_api)),
    path("", include("accounts.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("privacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_docs"),
]

# A database that does not answer gets 503 and a page that says so (portal.error_pages); any other error, 500.
handler500 = "portal.error_pages.server_error"

# Billing was part of the accounts app; staff bookmarks of its admin pages keep working.
billing_admin_moved = RedirectView.as_view(url="/admin/billing/%(model)s/%(rest)s", query_string=True, permanent=True)

# The API's prefixes first: an integration's request is resolved trying the fewest patterns. IPROG- and
# Semaphore-compatible endpoints let a customer switch by changing only the base URL.
urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/v4/", include(semaphore_urlpatterns)),
    path("healthz", monitoring.healthz, name="healthz"),
    path("readyz", monitoring.readyz, name="readyz"),
    path("metrics", monitoring.metrics, name="metrics"),
    re_path(
        r"^admin/accounts/(?P<model>creditaccount|ledgerentry|payment|priceplan|receipt|receiptcounter)/(?P<rest>.*)$",
        billing_admin_moved,
    ),
    # Admin signs in, out and changes passwords through the site's own pages (allauth: rate limits, second factor).
    path("admin/login/", staff_access.admin_login, name="staff_admin_login"),
    path("admin/logout/", staff_access.admin_logout, name="staff_admin_logout"),
    path("admin/password_change/", staff_access.admin_password_change, name="staff_admin_password_change"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("billing/", include("billing.urls")),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("messages/", include("messaging.urls")),
    path("sender-names/", include(sender_names_pages)),
    path("privacy/data/", include("privacy.data.urls")),
    path("privacy/", include("privacy.urls")),
    path("", include("accounts.urls")),
]
