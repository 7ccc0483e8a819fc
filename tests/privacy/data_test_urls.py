"""The project's URLs plus privacy.data_urls under /privacy/data/ (until the lead includes it in
portal/urls.py)."""

from django.urls import include, path

from portal.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("privacy/data/", include("privacy.data_urls")),
    *project_urlpatterns,
]
