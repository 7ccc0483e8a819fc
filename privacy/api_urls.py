from django.urls import path

from privacy.policy_api import PolicyAcknowledgementAPI
from privacy.requests.api import PrivacyRequestDetailAPI, PrivacyRequestListAPI

urlpatterns = [
    path("privacy/requests", PrivacyRequestListAPI.as_view(), name="api_privacy_requests"),
    path("privacy/requests/<int:request_id>", PrivacyRequestDetailAPI.as_view(), name="api_privacy_request"),
    path("privacy/acknowledgements", PolicyAcknowledgementAPI.as_view(), name="api_privacy_acknowledgements"),
]
