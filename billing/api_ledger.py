"""Billing API for integrators: the ledger (`GET /api/v1/ledger`) and monthly statements
(`GET /api/v1/statements/{YYYY-MM}` as JSON, `.../{YYYY-MM}.csv` as CSV). Both need the `billing` scope.

Money is a decimal string in credits ("-1.00"), timestamps are ISO 8601 with their offset, and the ledger is
cursor-paginated and filtered like every list of the API (`portal.api_lists`).
"""

import json

import django_filters
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission, Scope
from accounts.schema import ErrorResponse
from billing import selectors
from billing.api import LedgerEntryOutput
from billing.api_examples import EXAMPLES
from billing.models import LedgerEntry, LedgerEntryKind
from billing.statement_export import statement_csv_rows, statement_to_dict
from portal.api_lists import PAGE_PARAMETERS, cursor_page, filtered, list_answer, page_size_param
from portal.csv_export import SafeWriter

ERROR = OpenApiResponse(ErrorResponse, description='{"error": {"code", "message", "details"}}')


class KindsFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """Comma-separated kinds, like every multi-value filter of the API (`status=sent,delivered`)."""


class LedgerFilter(django_filters.FilterSet):
    kind = KindsFilter(choices=LedgerEntryKind.choices, lookup_expr="in")
    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    message_id = django_filters.NumberFilter(field_name="message_id")
    payment_id = django_filters.NumberFilter(field_name="payment_id")

    class Meta:
        model = LedgerEntry
        fields = ["kind", "created_from", "created_to", "message_id", "payment_id"]


class LedgerAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["ledger_list"],
        operation_id="ledger_list",
        summary="The credit ledger, newest first",
        description=(
            "Every change of the organization's credits: top-ups, charges (one per message), refunds of messages "
            "that finally failed, staff adjustments and expiries. `amount` is signed; `balance_after` is the "
            "balance right after the entry, so the newest entry's `balance_after` is the balance. Walk the pages "
            "with `cursor` (the `next_cursor` of the previous page). Filters: `kind` (comma-separated), "
            "`created_from` (inclusive) and `created_to` (exclusive) as ISO 8601 dates or datetimes (without an "
            "offset: Asia/Manila), `message_id`, `payment_id`. Needs the `billing` scope."
        ),
        parameters=[
            OpenApiParameter("kind", str, description=f"Comma-separated: {', '.join(LedgerEntryKind.values)}"),
            OpenApiParameter("created_from", OpenApiTypes.DATETIME),
            OpenApiParameter("created_to", OpenApiTypes.DATETIME),
            OpenApiParameter("message_id", int),
            OpenApiParameter("payment_id", int),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: inline_serializer(
                "LedgerPageOutput",
                {
                    "results": LedgerEntryOutput(many=True),
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
        entries = filtered(
            LedgerFilter,
            request.query_params,
            selectors.ledger_entry_list(organization=self.organization),
        )
        page = cursor_page(entries, cursor=request.query_params.get("cursor"), page_size=page_size, field="id")
        return Response(list_answer(request, page, LedgerEntryOutput(page.results, many=True).data))


class StatementAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}

    @extend_schema(
        examples=EXAMPLES["statement_get"],
        operation_id="statement_get",
        summary="The monthly statement of one calendar month (Asia/Manila)",
        description=(
            "Opening and closing balance, credits topped up, charged, refunded, adjusted and expired, segments "
            "charged and refunded, traffic per network and route, and the month's top-ups with their receipts: "
            "the figures of the dashboard's statement page. Money is a decimal string in credits. Add `.csv` to "
            "the path for the same statement as a CSV file. Needs the `billing` scope."
        ),
        parameters=[OpenApiParameter("month", str, OpenApiParameter.PATH, description="YYYY-MM, e.g. 2026-11")],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 403: ERROR},
    )
    def get(self, request, month: str):
        statement = selectors.statement_get(organization=self.organization, month=selectors.parse_month(month))
        return Response(statement_to_dict(statement))


class CSVRenderer(BaseRenderer):
    """Lets a client ask for `Accept: text/csv`; an error answer is still the JSON error body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else json.dumps(data)


class StatementCSVAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}
    required_scopes = {"GET": Scope.BILLING}
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        examples=EXAMPLES["statement_csv"],
        operation_id="statement_csv",
        summary="The monthly statement as CSV",
        description="The statement of `GET /api/v1/statements/{month}` as a CSV file (UTF-8, spreadsheet-safe). "
        "Needs the `billing` scope.",
        parameters=[OpenApiParameter("month", str, OpenApiParameter.PATH, description="YYYY-MM, e.g. 2026-11")],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: ERROR, 403: ERROR},
    )
    def get(self, request, month: str):
        month_start = selectors.parse_month(month)
        statement = selectors.statement_get(organization=self.organization, month=month_start)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = f"statement-{self.organization.slug}-{month_start:%Y-%m}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        SafeWriter(response).writerows(statement_csv_rows(statement))
        return response
