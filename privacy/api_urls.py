from django.urls import path

from privacy.requests.api import PrivacyRequestDetailAPI, PrivacyRequestListAPI

urlpatterns = [
    path("privacy/requests", PrivacyRequestListAPI.as_view(), name="api_privacy_requests"),
    path("privacy/requests/<int:request_id>", PrivacyRequestDetailAPI.as_view(), name="api_privacy_request"),
]
