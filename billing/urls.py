from django.urls import path

from billing import checkout_views, views

app_name = "billing"

urlpatterns = [
    path("", views.BillingOverviewView.as_view(), name="overview"),
    path("alert/", views.LowBalanceThresholdView.as_view(), name="threshold"),
    path("profile/", checkout_views.BillingProfileView.as_view(), name="profile"),
    path("buy/", checkout_views.BuyCreditsView.as_view(), name="buy"),
    path("checkout/<int:payment_id>/", checkout_views.CheckoutReturnView.as_view(), name="checkout_return"),
    path("checkout/<int:payment_id>/cancelled/", checkout_views.CheckoutCancelView.as_view(), name="checkout_cancel"),
    path("webhooks/<slug:provider>/", checkout_views.payment_webhook, name="payment_webhook"),
    path("statements/", views.StatementView.as_view(), name="statement"),
    path("statements/csv/", views.StatementCSVView.as_view(), name="statement_csv"),
    path("receipts/", views.ReceiptListView.as_view(), name="receipts"),
    path("receipts/<str:number>/", views.ReceiptDetailView.as_view(), name="receipt"),
]
