from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("accounts.billing.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("privacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("billing/", include("accounts.billing.urls")),
    path("messages/", include("messaging.urls")),
    path("privacy/data/", include("privacy.data_urls")),
    path("privacy/", include("privacy.urls")),
    path("", include("accounts.urls")),
]
