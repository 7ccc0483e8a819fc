"""`GET /api/v1/receipts`: the organization's official receipts, newest first (the dashboard's receipts page).

Cursor-paginated and filtered like every list of the API (`portal.api_lists`); one receipt by number is
`GET /api/v1/billing/receipts/{number}` (`billing.api`). Needs the `billing` scope.
"""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission, Scope
from accounts.schema import ErrorResponse
from billing import selectors
from billing.api import ReceiptOutput
from billing.api_examples import EXAMPLES
from billing.models import Receipt
from portal.api_lists import PAGE_PARAMETERS, cursor_page, filtered, list_answer, page_size_param

ERROR = OpenApiResponse(ErrorResponse, description='{"error": {"code", "message", "details"}}')


class ReceiptFilter(django_filters.FilterSet):
    issued_from = django_filters.IsoDateTimeFilter(field_name="issued_at", lookup_expr="gte")
    issued_to = django_filters.IsoDateTimeFilter(field_name="issued_at", lookup_expr="lt")

    class Meta:
        model = Receipt
        fields = ["issued_from", "issued_to"]


class ReceiptListAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["receipts_list"],
        operation_id="receipts_list",
        summary="Official receipts, newest first",
        description=(
            "One receipt per confirmed top-up: number, date, amount paid in PHP (a decimal string), credits, "
            "method and reference. Walk the pages with `cursor`; filter with `issued_from` (inclusive) and "
            "`issued_to` (exclusive), ISO 8601 dates or datetimes (without an offset: Asia/Manila). Needs the "
            "`billing` scope."
        ),
        parameters=[
            OpenApiParameter("issued_from", OpenApiTypes.DATETIME),
            OpenApiParameter("issued_to", OpenApiTypes.DATETIME),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: inline_serializer(
                "ReceiptPageOutput",
                {
                    "results": ReceiptOutput(many=True),
                    "next": serializers.URLField(allow_null=True),
                    "next_cursor": serializers.CharField(allow_null=True),
                },
            ),
            400: ERROR,
            403: ERROR,
        },
    )
    def get(self, request):
        page_size = page_size_param(request.query_params)
        receipts = filtered(ReceiptFilter, request.query_params, selectors.receipt_list(organization=self.organization))
        page = cursor_page(receipts, cursor=request.query_params.get("cursor"), page_size=page_size, field="issued_at")
        return Response(list_answer(request, page, ReceiptOutput(page.results, many=True).data))
