"""Template and campaign pages, included under /messages/ in the `messaging` namespace."""

from django.urls import path

from messaging.campaigns import views

urlpatterns = [
    path("templates/", views.TemplateListView.as_view(), name="templates"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaigns"),
    path("campaigns/new/", views.CampaignNewView.as_view(), name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:campaign_id>/progress/", views.CampaignProgressView.as_view(), name="campaign_progress"),
    path("campaigns/<int:campaign_id>/confirm/", views.CampaignConfirmView.as_view(), name="campaign_confirm"),
    path("campaigns/<int:campaign_id>/cancel/", views.CampaignCancelView.as_view(), name="campaign_cancel"),
]
