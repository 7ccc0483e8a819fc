from django.urls import include, path

from messaging import notice_views, views
from messaging.campaigns import urls as campaign_urls
from messaging.contacts import urls as contact_urls

app_name = "messaging"

urlpatterns = [
    path("", views.MessageLogView.as_view(), name="log"),
    path("send/", views.SendView.as_view(), name="send"),
    path("send/count/", views.SegmentCountView.as_view(), name="count"),
    path("bulk/", views.BulkUploadView.as_view(), name="bulk"),
    path("bulk/<slug:bulk_id>/", views.BulkDetailView.as_view(), name="bulk_detail"),
    path("bulk/<slug:bulk_id>/start/", views.BulkStartView.as_view(), name="bulk_start"),
    path("bulk/<slug:bulk_id>/progress/", views.BulkProgressView.as_view(), name="bulk_progress"),
    path("export.csv", views.MessageExportView.as_view(), name="export"),
    path("statuses/", views.MessageStatusesView.as_view(), name="statuses"),
    path("totals/", views.MessageTotalsView.as_view(), name="totals"),
    path("webhook/", views.WebhookView.as_view(), name="webhook"),
    path("notices/<int:notice_id>/dismiss/", notice_views.notice_dismiss_view, name="notice_dismiss"),
    path("contacts/", include(contact_urls)),
    path("", include(campaign_urls)),
    path("<int:message_id>/", views.MessageDetailView.as_view(), name="detail"),
    path("<int:message_id>/cancel/", views.MessageCancelView.as_view(), name="cancel"),
]
