"""The privacy pages under /privacy/ (namespace `privacy`); the data side's pages are `privacy.data.urls`."""

from django.urls import path

from privacy import views as policy_views
from privacy.data import views as data_views
from privacy.requests import views

app_name = "privacy"

urlpatterns = [
    path("", views.PrivacyCentreView.as_view(), name="centre"),
    path("requests/<int:request_id>/", views.MyRequestView.as_view(), name="my_request"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("phone/", views.PhoneProofView.as_view(), name="phone_proof"),
    path("processing/", data_views.ProcessingChoiceView.as_view(), name="processing_choice"),
    path("request/", views.PublicRequestView.as_view(), name="request"),
    path("request/verify/<str:signed>/", views.RequestVerifyEmailView.as_view(), name="request_verify_email"),
    path("request/status/<str:token>/", views.RequestStatusView.as_view(), name="request_status"),
    path("policy/", policy_views.policy_view, name="policy"),
    path("policy/<int:version>/", policy_views.policy_view, name="policy_version"),
    path("policy/<int:version>/acknowledge/", policy_views.policy_acknowledge_view, name="policy_acknowledge"),
    path("contact/", views.ContactView.as_view(), name="contact"),
    path("staff/board/", views.StaffBoardView.as_view(), name="staff_board"),
]
