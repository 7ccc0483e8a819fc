from django.urls import path, re_path

from billing import api, api_ledger, api_receipts

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
    path("ledger", api_ledger.LedgerAPI.as_view(), name="api_ledger"),
    path("receipts", api_receipts.ReceiptListAPI.as_view(), name="api_receipts"),
    re_path(r"^statements/(?P<month>[0-9]{4}-[0-9]{2})$", api_ledger.StatementAPI.as_view(), name="api_statement"),
    re_path(
        r"^statements/(?P<month>[0-9]{4}-[0-9]{2})\.csv$",
        api_ledger.StatementCSVAPI.as_view(),
        name="api_statement_csv",
    ),
]
