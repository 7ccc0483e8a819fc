"""URLs of the data side (exports, usage analytics), routed under /privacy/data/ by portal/urls.py."""

from django.urls import path

from privacy.data import views as data_views

app_name = "privacy_data"

urlpatterns = [
    path("exports/", data_views.export_list_view, name="export_list"),
    path("exports/<int:export_id>/download/", data_views.export_download_view, name="export_download"),
    path(
        "exports/<int:export_id>/download/<str:token>/",
        data_views.export_download_token_view,
        name="export_download_token",
    ),
    path("staff/usage-analytics/", data_views.usage_analytics_view, name="usage_analytics"),
]
