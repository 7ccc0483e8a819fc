"""List endpoints of the API: one pagination style (an opaque cursor) and one filtering style (django-filter).

A list answers `{"results": [...], "next": <URL of the next page or null>, "next_cursor": <cursor or null>}`,
newest first. The cursor is keyset pagination on (timestamp, id) descending, so a page never repeats or skips a row
when new rows arrive while a client walks the list. `page_size` is 1 to 200 (default 50).

Filters are `django_filters.FilterSet`s; a value that does not parse answers 400 `invalid_filter` with the
FilterSet's errors in `details`. A date or datetime without an offset is read in the operator's time zone
(Asia/Manila, `portal.timezone`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter

from portal.api import bounded_int_param
from portal.errors import ApplicationError
from portal.timezone import operator_tz

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The `next_cursor` of the previous page; omit for the first page"),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
        description=f"1 to {MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}",
    ),
]


@dataclass
class CursorPage:
    results: list
    next_cursor: str | None


def encode_cursor(moment: datetime, pk: int) -> str:
    raw = json.dumps([moment.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment_raw, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(moment_raw)
        if timezone.is_naive(moment) or not isinstance(pk, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ApplicationError("Invalid cursor; pass the `next_cursor` of the previous page.", code="invalid_cursor")
    return moment, pk


def page_size_param(params) -> int:
    """`page_size`, 1 to 200 (default 50); anything else is a 400 `invalid_parameter` naming it."""
    return bounded_int_param(params, "page_size", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)


def cursor_page(queryset: QuerySet, *, cursor: str | None, page_size: int, field: str = "created_at") -> CursorPage:
    """One page of `queryset` ordered by (`field`, id) descending, after `cursor` (None: the first page).

    `field="id"` orders by id alone (append-only tables whose id order is their time order, like the ledger)."""
    if field == "id":
        queryset = queryset.order_by("-id")
        if cursor:
            queryset = queryset.filter(id__lt=decode_cursor(cursor)[1])
    else:
        queryset = queryset.order_by(f"-{field}", "-id")
        if cursor:
            moment, pk = decode_cursor(cursor)
            # The redundant `<=` bound lets an index on (organization, field) serve the range; the OR alone
            # would not.
            queryset = queryset.filter(**{f"{field}__lte": moment}).filter(
                Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "id__lt": pk})
            )
    rows = list(queryset[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(last.created_at if field == "id" else getattr(last, field), last.pk)
    return CursorPage(results=rows, next_cursor=next_cursor)


def filtered(filterset_class, params, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed by a django-filter FilterSet; invalid values raise 400 `invalid_filter`."""
    with timezone.override(operator_tz()):
        filterset = filterset_class(data=params, queryset=queryset)
        if not filterset.is_valid():
            errors = {name: [str(error) for error in messages] for name, messages in filterset.errors.items()}
            first = next(iter(errors.items()))
            raise ApplicationError(f"{first[0]}: {first[1][0]}", code="invalid_filter", details=errors)
        return filterset.qs


def list_answer(request, page: CursorPage, results: list) -> dict:
    """The list answer: results, the next page's URL (same filters) and its cursor."""
    next_url = None
    if page.next_cursor:
        params = request.query_params.copy()
        params["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)
    return {"results": results, "next": next_url, "next_cursor": page.next_cursor}


def list_page_answer(request, queryset: QuerySet, output, *, field: str = "created_at") -> dict:
    """The list answer for one page of `queryset` (the request's `cursor` and `page_size`), each row through the
    `output` serializer class."""
    page = cursor_page(
        queryset,
        cursor=request.query_params.get("cursor"),
        page_size=page_size_param(request.query_params),
        field=field,
    )
    return list_answer(request, page, output(page.results, many=True).data)
