"""URLs of the data side; the lead includes them: path("privacy/data/", include("privacy.data_urls"))."""

from django.urls import path

from privacy import data_views

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
