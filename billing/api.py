"""Billing API: the balance and monthly usage, the ledger, payments and receipts (read-only).

Every view reads through a selector that takes `self.organization`, so another organization's entry, payment
or receipt answers 404 exactly like a missing one.
"""

from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission, Scope
from billing import selectors
from billing.api_examples import EXAMPLES
from portal.errors import ApplicationError

MAX_PAGE_SIZE = 200


class BalanceOutput(serializers.Serializer):
    balance = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    monthly_limit = serializers.IntegerField(allow_null=True, help_text="Segments per calendar month; null = none")
    used_this_month = serializers.IntegerField(help_text="Segments charged this month (Asia/Manila), net of refunds")
    price_per_segment = serializers.DecimalField(max_digits=10, decimal_places=4, coerce_to_string=True)


class LedgerEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    segments = serializers.IntegerField()
    reason = serializers.CharField()
    message_id = serializers.IntegerField(allow_null=True)
    payment_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    status = serializers.CharField()
    amount_php = serializers.DecimalField(max_digits=12, decimal_places=2)
    credits = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    receipt_number = serializers.SerializerMethodField()

    def get_receipt_number(self, payment) -> str | None:
        receipt = getattr(payment, "receipt", None)  # a missing one-to-one raises an AttributeError subclass
        return receipt.number if receipt is not None else None


class ReceiptOutput(serializers.Serializer):
    number = serializers.CharField()
    issued_at = serializers.DateTimeField()
    billed_to = serializers.CharField()
    amount_php = serializers.DecimalField(max_digits=12, decimal_places=2)
    credits = serializers.DecimalField(max_digits=14, decimal_places=2)
    method = serializers.CharField()
    reference = serializers.CharField()
    payment_id = serializers.IntegerField()


def _page_params(request) -> tuple[int, int | None]:
    """`limit` (1..200, default 50) and `before` (an id: keyset pagination, newest first)."""
    try:
        limit = int(request.query_params.get("limit", 50))
        before = request.query_params.get("before")
        before_id = int(before) if before else None
    except ValueError:
        raise ApplicationError("limit and before must be whole numbers.", code="invalid_pagination")
    if before_id is not None and not 1 <= before_id < 2**63:
        raise ApplicationError(
            "before must be an id from 1 to 2**63 - 1.",
            code="invalid_pagination",
            details={"before": ["Out of range."]},
        )
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ApplicationError(f"limit must be between 1 and {MAX_PAGE_SIZE}.", code="invalid_pagination")
    return limit, before_id


def _page(queryset, *, limit: int, before_id: int | None):
    if before_id is not None:
        queryset = queryset.filter(id__lt=before_id)
    rows = list(queryset.order_by("-id")[: limit + 1])
    next_before = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_before


def _next_url(request, next_before: int | None) -> str | None:
    """The next page's address, as every list answer of the API gives it in `next`."""
    if next_before is None:
        return None
    params = request.query_params.copy()
    params["before"] = next_before
    return request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)


def _page_schema(name: str, item: serializers.Serializer):
    return inline_serializer(
        name,
        {
            "results": item,
            "next": serializers.URLField(allow_null=True),
            "next_before": serializers.IntegerField(allow_null=True),
        },
    )


PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50},
        description="1 to 200, default 50",
    ),
    OpenApiParameter(
        "before",
        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        description="Return items with an id below this (the `next_before` value)",
    ),
]


class BalanceAPIView(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["balance_retrieve"],
        summary="Credit balance and monthly usage",
        description="The balance in credits (one credit pays one segment at the default price), the monthly "
        "segment limit if staff set one, and the segments used this calendar month (Asia/Manila).",
        responses=BalanceOutput,
    )
    def get(self, request):
        account = selectors.credit_account_get(organization=self.organization)
        used, limit = selectors.usage_from_account(account)
        plan = selectors.price_plan_for(organization=self.organization, account=account)
        data = {
            "balance": account.balance if account is not None else selectors.ZERO,
            "currency": "credits",
            "monthly_limit": limit,
            "used_this_month": used,
            "price_per_segment": plan.price_per_segment,
        }
        return Response(BalanceOutput(data).data)


class LedgerListAPIView(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["billing_ledger_list"],
        summary="Ledger entries, newest first",
        operation_id="billing_ledger_list",
        description="Every change of the organization's credits, newest first; `limit` 1-200, `before` an id.",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("kind", str, description="topup, charge, refund, ..."),
        ],
        responses=_page_schema("LedgerPage", LedgerEntryOutput(many=True)),
    )
    def get(self, request):
        limit, before_id = _page_params(request)
        entries = selectors.ledger_entry_list(organization=self.organization, kind=request.query_params.get("kind"))
        rows, next_before = _page(entries, limit=limit, before_id=before_id)
        return Response(
            {
                "results": LedgerEntryOutput(rows, many=True).data,
                "next": _next_url(request, next_before),
                "next_before": next_before,
            }
        )


class LedgerEntryDetailAPIView(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["billing_ledger_retrieve"],
        summary="One ledger entry",
        description="A change of the organization's credits (top-up, charge, refund, adjustment).",
        responses=LedgerEntryOutput,
    )
    def get(self, request, entry_id: int):
        entry = selectors.ledger_entry_get(organization=self.organization, entry_id=entry_id)
        return Response(LedgerEntryOutput(entry).data)


class PaymentListAPIView(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["billing_payments_list"],
        summary="Payments (top-ups), newest first",
        operation_id="billing_payments_list",
        description="The organization's top-up payments, newest first; `limit` 1-200, `before` an id.",
        parameters=PAGE_PARAMETERS,
        responses=_page_schema("PaymentPage", PaymentOutput(many=True)),
    )
    def get(self, request):
        limit, before_id = _page_params(request)
        rows, next_before = _page(
            selectors.payment_list(organization=self.organization), limit=limit, before_id=before_id
        )
        return Response(
            {
                "results": PaymentOutput(rows, many=True).data,
                "next": _next_url(request, next_before),
                "next_before": next_before,
            }
        )


class PaymentDetailAPIView(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["billing_payments_retrieve"],
        summary="One payment",
        description="A top-up payment and its receipt number.",
        responses=PaymentOutput,
    )
    def get(self, request, payment_id: int):
        payment = selectors.payment_get(organization=self.organization, payment_id=payment_id)
        return Response(PaymentOutput(payment).data)


class ReceiptDetailAPIView(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["billing_receipts_retrieve"],
        summary="One receipt",
        description="The official receipt of a payment, by its number (as printed on the receipt).",
        responses=ReceiptOutput,
    )
    def get(self, request, number: str):
        receipt = selectors.receipt_get(organization=self.organization, number=number)
        return Response(ReceiptOutput(receipt).data)
