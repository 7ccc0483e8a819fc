from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.BillingOverviewView.as_view(), name="overview"),
    path("alert/", views.LowBalanceThresholdView.as_view(), name="threshold"),
    path("statements/", views.StatementView.as_view(), name="statement"),
    path("statements/csv/", views.StatementCSVView.as_view(), name="statement_csv"),
    path("receipts/", views.ReceiptListView.as_view(), name="receipts"),
    path("receipts/<str:number>/", views.ReceiptDetailView.as_view(), name="receipt"),
]
