"""Address book pages, included under /messages/contacts/ in the `messaging` namespace."""

from django.urls import path

from messaging.contacts import views

urlpatterns = [
    path("", views.ContactListView.as_view(), name="contacts"),
    path("import/", views.ContactImportView.as_view(), name="contacts_import"),
    path("import/<slug:import_id>/", views.ContactImportMapView.as_view(), name="contacts_import_map"),
    path("groups/", views.GroupListView.as_view(), name="contact_groups"),
    path("opt-outs/", views.OptOutListView.as_view(), name="opt_outs"),
]
