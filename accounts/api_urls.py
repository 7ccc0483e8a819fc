from django.urls import path

from accounts.api import MeAPI

urlpatterns = [
    path("me", MeAPI.as_view(), name="api_me"),
]
