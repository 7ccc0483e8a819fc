"""URLs of the sender names page and API (included from portal/urls.py)."""

from django.urls import path

from messaging import sender_names_views

api_urlpatterns = [
    path("sender-names", sender_names_views.SenderNameListCreateAPI.as_view(), name="api_sender_names"),
]

page_urlpatterns = [
    path("", sender_names_views.SenderNamesView.as_view(), name="sender_names"),
]
