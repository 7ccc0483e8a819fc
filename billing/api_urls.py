from django.urls import path

from billing import api

urlpatterns = [
    path("balance", api.BalanceAPIView.as_view(), name="api_balance"),
    path("billing/ledger", api.LedgerListAPIView.as_view(), name="api_billing_ledger"),
    path(
        "billing/ledger/<int:entry_id>",
        api.LedgerEntryDetailAPIView.as_view(),
        name="api_billing_ledger_entry",
    ),
    path("billing/payments", api.PaymentListAPIView.as_view(), name="api_billing_payments"),
    path("billing/payments/<int:payment_id>", api.PaymentDetailAPIView.as_view(), name="api_billing_payment"),
    path("billing/receipts/<str:number>", api.ReceiptDetailAPIView.as_view(), name="api_billing_receipt"),
]
