"""The message log's rows as the page prints them, built in Python once per page.

A row used to be an `{% include %}` per message with two `{% url %}`, three `date` filters, `floatformat`,
`truncatechars`, a display method, a filter reading the route's adapter and a nested include for the status badge:
two thirds of the page's CPU time at 50 rows. Printing the same values as template variables still cost ~18
variable lookups per row. Here each value is formatted once with plain string operations (the detail address from
one `reverse` per page, times in Asia/Manila with `strftime`), escaped once, and put into the row's markup
(`ROW_HTML`); the templates print `row.html`. The live refresh (`MessageStatusesView`) redraws rows from the same
code (with `oob`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from messaging.models import MessageStatus
from messaging.numbers import Network
from messaging.ui_selectors import IN_FLIGHT_STATUSES, adapter_reports_receipts
from portal.timezone import operator_tz

BODY_SHOWN_CHARACTERS = 40
_CENT = Decimal("0.01")
_NETWORK_LABELS = dict(Network.choices)
_BADGE_CLASSES = {
    MessageStatus.DELIVERED: "text-bg-success",
    MessageStatus.SENT: "text-bg-primary",
    MessageStatus.SENDING: "text-bg-info",
    MessageStatus.QUEUED: "text-bg-secondary",
    MessageStatus.FAILED: "text-bg-danger",
    MessageStatus.REJECTED: "text-bg-danger",
    MessageStatus.EXPIRED: "text-bg-warning",
}
_PK_PLACEHOLDER = 9876543210
# The markup of `messaging/_status_badge.html` (the detail page's), which a test keeps equal to this.
NO_RECEIPT_BADGE = SafeString(
    '<span class="badge status-badge text-bg-primary" data-status="sent" data-receipt="none" title="The provider '
    'hands messages to the network and reports nothing after that">sent, no receipt from this provider</span>'
)


def status_badge(status: str, *, no_receipt: bool) -> SafeString:
    if no_receipt:
        return NO_RECEIPT_BADGE
    return format_html(
        '<span class="badge status-badge {}" data-status="{}">{}</span>',
        _BADGE_CLASSES.get(status, "text-bg-light border"),
        status,
        status,
    )


# One row of the log's table (`log.html`'s columns); every value is escaped before it goes in.
ROW_HTML = """<tr id="message-row-{pk}" data-href="{url}" class="message-row" data-message-id="{pk}"{oob}>
    <td class="text-nowrap"><a href="{url}">{created}</a>{scheduled}</td>
    <td class="text-nowrap">{recipient}</td>
    <td class="message-body small">{body}</td>
    <td>{network}</td>
    <td class="message-sender">{sender_name}</td>
    <td class="message-provider">{provider}</td>
    <td class="text-end">{segments}</td>
    <td class="text-end">{price}</td>
    <td><span id="status-{pk}">{badge}</span>
      <div class="small text-body-secondary message-status-time">{status_time}</div></td>
    <td class="small text-body-secondary">{error}</td>
  </tr>
"""
SCHEDULED_HTML = ' <i class="bi bi-clock text-body-secondary" title="Scheduled for {}"></i>'
LONG_BODY_HTML = '<details><summary title="{body}">{short}</summary><span class="text-break">{body}</span></details>'
ERROR_HTML = '<span title="{}">{}</span>'


@dataclass(slots=True)
class LogRow:
    """One message of the log, every value ready to print."""

    pk: int
    pk_text: str
    organization_id: int
    detail_url: str
    created: str  # Asia/Manila, 2026-11-30 14:05:09
    scheduled: str  # Asia/Manila, 2026-11-30 14:05, or ""
    recipient: str
    body: str
    body_short: str  # the text cut to BODY_SHOWN_CHARACTERS with an ellipsis, or "" when it fits
    network: str
    sender_name: str
    provider: str
    segments: str
    price: str
    status: str
    no_receipt: bool  # sent through a route that reports no handset receipt: it stays `sent` for good
    badge: SafeString
    status_time: str  # Asia/Manila, 14:05:09, or ""
    error_code: str
    error_message: str
    html: SafeString  # the whole table row

    @property
    def on_its_way(self) -> bool:
        """Whether the status may still change by itself (the page keeps polling it)."""
        return self.status in IN_FLIGHT_STATUSES and not self.no_receipt


def log_rows(rows: list[dict], *, oob: bool = False) -> list[LogRow]:
    """`LogRow`s of rows of `selectors.message_row_page` (or of `ui_selectors.message_status_rows`), in order;
    `oob` marks each table row for an htmx out-of-band swap (the live refresh)."""
    if not rows:
        return []
    # The detail address of every row from one reverse: the prefix and suffix around a placeholder id.
    prefix, _, suffix = reverse("messaging:detail", args=[_PK_PLACEHOLDER]).partition(str(_PK_PLACEHOLDER))
    manila = operator_tz()
    adapters: dict[str | None, bool] = {}
    built = []
    for row in rows:
        pk = row["id"]
        status = row["status"]
        adapter = row["provider__adapter"]
        reports = adapters.get(adapter)
        if reports is None:
            reports = adapters[adapter] = adapter is None or adapter_reports_receipts(adapter)
        no_receipt = status == MessageStatus.SENT and not reports
        body = row["body"] or ""
        send_at: datetime | None = row["send_at"]
        changed_at: datetime | None = row["status_changed_at"]
        row_ = LogRow(
            pk=pk,
            pk_text=str(pk),
            organization_id=row["organization_id"],
            detail_url=f"{prefix}{pk}{suffix}",
            created=row["created_at"].astimezone(manila).strftime("%Y-%m-%d %H:%M:%S"),
            scheduled=send_at.astimezone(manila).strftime("%Y-%m-%d %H:%M") if send_at else "",
            recipient=row["recipient"],
            body=body,
            body_short=_shortened(body),
            network=_NETWORK_LABELS.get(row["network"], row["network"]),
            sender_name=row["sender_name"],
            provider=row["provider__name"] or "—",
            segments=str(row["segments"]),
            price=str(Decimal(row["price"]).quantize(_CENT, rounding=ROUND_HALF_UP)),
            status=status,
            no_receipt=no_receipt,
            badge=status_badge(status, no_receipt=no_receipt),
            status_time=changed_at.astimezone(manila).strftime("%H:%M:%S") if changed_at else "",
            error_code=row["error_code"],
            error_message=row["error_message"],
            html=SafeString(""),
        )
        row_.html = _row_html(row_, oob=oob)
        built.append(row_)
    return built


def _shortened(body: str) -> str:
    """What the `truncatechars` filter makes of a text longer than BODY_SHOWN_CHARACTERS ("" when it fits): cut to
    one character less, with an ellipsis. ASCII text (most messages) is cut directly; other text goes through
    Django's Truncator, which also counts combining marks as part of the character before them."""
    if len(body) <= BODY_SHOWN_CHARACTERS:
        return ""
    if body.isascii():
        return body[: BODY_SHOWN_CHARACTERS - 1] + "…"
    shortened = Truncator(body).chars(BODY_SHOWN_CHARACTERS)
    return shortened if shortened != body else ""


def _row_html(row: LogRow, *, oob: bool) -> SafeString:
    body = escape(row.body)
    return SafeString(
        ROW_HTML.format(
            pk=row.pk_text,
            url=escape(row.detail_url),
            oob=' hx-swap-oob="true"' if oob else "",
            created=row.created,
            scheduled=SCHEDULED_HTML.format(row.scheduled) if row.scheduled else "",
            recipient=escape(row.recipient),
            body=LONG_BODY_HTML.format(body=body, short=escape(row.body_short)) if row.body_short else body,
            network=escape(row.network),
            sender_name=escape(row.sender_name),
            provider=escape(row.provider),
            segments=row.segments,
            price=row.price,
            badge=row.badge,
            status_time=row.status_time,
            error=ERROR_HTML.format(escape(row.error_message), escape(row.error_code)) if row.error_code else "",
        )
    )
