from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/switch/", views.organization_switch, name="organization_switch"),
    path("organizations/new/", views.OrganizationCreateView.as_view(), name="organization_create"),
    path("organization/settings/", views.OrganizationSettingsView.as_view(), name="organization_settings"),
    path("organization/members/", views.MembersView.as_view(), name="members"),
    path("organization/api-keys/", views.APIKeysView.as_view(), name="api_keys"),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("account/sign-ins/", views.LoginHistoryView.as_view(), name="login_history"),
]
