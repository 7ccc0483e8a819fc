"""Dashboard pages for messaging: send (with a live segment/price count), bulk CSV send, message log, message
detail with cancel, CSV export of the log, webhook settings.

Views parse input, call a service or selector and render; service errors become form errors or messages.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Permission
from accounts.services import audit_log_record
from accounts.web import OrganizationViewMixin
from billing import selectors as billing_selectors
from messaging import csv_import, selectors, ui_selectors
from messaging.campaigns.preview import texts_for_numbers
from messaging.forms import BulkUploadForm, SendForm, WebhookForm
from messaging.log_export import export_rows
from messaging.log_rows import log_rows
from messaging.models import MessageChannel, MessageStatus, WebhookDeliveryStatus
from messaging.numbers import InvalidPhoneNumber, Network, normalize_ph_number
from messaging.segments import count_segments, non_gsm_characters
from messaging.services.sending import message_cancel, message_send
from messaging.services.webhooks import webhook_delivery_retry, webhook_endpoint_delete, webhook_endpoint_set
from portal.errors import ApplicationError

BILLING_ERROR_CODES = ("insufficient_credits", "monthly_limit_reached")


# --- send ---


def segment_count_context(*, organization, body: str, recipients_text: str = "") -> dict:
    """What the live counter shows: the same `count_segments` and billing price the send will use."""
    info = count_segments(body or "")
    price = billing_selectors.message_price(organization=organization, segments=info.segments)
    recipient_count = len(csv_import.recipients_from_text(recipients_text))
    return {
        "info": info,
        "price": price,
        "recipient_count": recipient_count,
        "total_price": price * max(recipient_count, 1),
        "non_gsm": non_gsm_characters(body or "")[:10],
        "max_characters": _max_body_characters(),
        "body_length": len(body or ""),
    }


def _max_body_characters() -> int:
    return settings.SMS_MAX_BODY_CHARACTERS


class SendView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/send.html"
    required_permissions = {"GET": Permission.SEND_MESSAGES, "POST": Permission.SEND_MESSAGES}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs.get("form") or SendForm(initial={"recipients": self.request.GET.get("to", "")})
        context["form"] = form
        context.update(
            segment_count_context(
                organization=self.organization,
                body=form.data.get("body", "") if form.is_bound else "",
                recipients_text=form.data.get("recipients", "") if form.is_bound else form.initial["recipients"],
            )
        )
        context["balance"] = billing_selectors.balance_get(organization=self.organization)
        return context

    def post(self, request):
        form = SendForm(request.POST)
        context = {"form": form}
        if form.is_valid():
            # `Hi {name}!` is filled from the contacts with those numbers; it is never sent with the braces in it.
            texts, merge_errors = texts_for_numbers(
                organization=self.organization, body=form.cleaned_data["body"], numbers=form.cleaned_data["recipients"]
            )
            if merge_errors:
                listed = "; ".join(f"{e['input']}: {e['message']}" for e in merge_errors[:5])
                form.add_error("body", f"Merge fields cannot be filled for {len(merge_errors)} number(s): {listed}")
                return self.render_to_response(self.get_context_data(**context), status=400)
            try:
                sent = message_send(
                    organization=self.organization,
                    actor=request.user,
                    recipients=form.cleaned_data["recipients"],
                    body=form.cleaned_data["body"],
                    bodies=texts,
                    sender_name=form.cleaned_data["sender_name"] or None,
                    send_at=form.cleaned_data["send_at"],
                    channel=MessageChannel.DASHBOARD,
                )
            except ApplicationError as exc:
                context.update(self._error_context(exc, form))
                return self.render_to_response(self.get_context_data(**context), status=exc.status)
            messages.success(request, _sent_summary(sent))
            if len(sent) == 1:
                return redirect("messaging:detail", message_id=sent[0].pk)
            return redirect("messaging:log")
        return self.render_to_response(self.get_context_data(**context), status=400)

    def _error_context(self, exc: ApplicationError, form: SendForm) -> dict:
        if exc.code == "invalid_recipients":
            inputs = form.cleaned_data["recipients"]
            bad = [
                {"position": item["index"] + 1, "input": inputs[item["index"]], "message": item["message"]}
                for item in (exc.details or {}).get("recipients", [])
            ]
            form.add_error("recipients", f"{len(bad)} of {len(inputs)} numbers are not valid; nothing was sent.")
            return {"bad_recipients": bad}
        field = {
            "empty_body": "body",
            "body_too_long": "body",
            "unknown_sender_name": "sender_name",
            "invalid_send_at": "send_at",
            "too_many_recipients": "recipients",
            "no_recipients": "recipients",
        }.get(exc.code)
        if field:
            form.add_error(field, exc.message)
            return {}
        return {
            "send_error": exc.message,
            "send_error_code": exc.code,
            "billing_error": exc.code in BILLING_ERROR_CODES,
        }


def _sent_summary(sent) -> str:
    queued = [m for m in sent if m.status == MessageStatus.QUEUED]
    opted_out = len(sent) - len(queued)
    total = sum((m.price for m in queued), Decimal("0"))
    scheduled = queued[0].send_at if queued and queued[0].send_at else None
    text = f"{len(queued)} message{'s' if len(queued) != 1 else ''} "
    if scheduled:
        text += f"scheduled for {timezone.localtime(scheduled):%Y-%m-%d %H:%M} (Philippine time)"
    else:
        text += "queued for sending"
    text += f", {total} credits charged."
    if opted_out:
        text += f" {opted_out} recipient(s) opted out and were not charged."
    return text


class SegmentCountView(OrganizationViewMixin, View):
    """htmx partial: encoding, characters, segments, room left and price of the body being typed."""

    required_permissions = {"GET": Permission.VIEW, "POST": Permission.VIEW}

    def get(self, request):
        return self._render(request.GET)

    def post(self, request):
        return self._render(request.POST)

    def _render(self, params):
        context = segment_count_context(
            organization=self.organization,
            body=params.get("body", ""),
            recipients_text=params.get("recipients", ""),
        )
        return render(self.request, "messaging/_segment_count.html", context)


# --- bulk CSV ---


class BulkUploadView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/bulk_upload.html"
    required_permissions = {"GET": Permission.SEND_MESSAGES, "POST": Permission.SEND_MESSAGES}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", kwargs.get("form") or BulkUploadForm())
        context["max_rows"] = csv_import.MAX_ROWS
        context["chunk_size"] = csv_import.CHUNK_SIZE
        return context

    def post(self, request):
        form = BulkUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            bulk = csv_import.bulk_send_upload(
                organization=self.organization,
                actor=request.user,
                upload=form.cleaned_data["file"],
                default_body=form.cleaned_data["body"],
                sender_name=form.cleaned_data["sender_name"],
                name=form.cleaned_data["name"],
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        return redirect("messaging:bulk_detail", bulk_id=bulk.id)


class BulkDetailView(OrganizationViewMixin, TemplateView):
    """The preview (before confirmation) or the progress (after)."""

    template_name = "messaging/bulk_detail.html"
    required_permissions = {"GET": Permission.SEND_MESSAGES}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bulk = csv_import.bulk_send_get(organization=self.organization, bulk_id=kwargs["bulk_id"])
        context["bulk"] = bulk
        context["balance"] = billing_selectors.balance_get(organization=self.organization)
        context["enough_credits"] = context["balance"] >= Decimal(bulk.price_total)
        return context


class BulkStartView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    def post(self, request, bulk_id):
        try:
            csv_import.bulk_send_start(
                organization=self.organization,
                actor=request.user,
                bulk_id=bulk_id,
                send_to_duplicates=request.POST.get("send_to_duplicates") == "on",
            )
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            messages.error(request, exc.message)
        return redirect("messaging:bulk_detail", bulk_id=bulk_id)


class BulkProgressView(OrganizationViewMixin, View):
    """htmx partial polled every second until the run has finished."""

    required_permissions = {"GET": Permission.SEND_MESSAGES}

    def get(self, request, bulk_id):
        bulk = csv_import.bulk_send_get(organization=self.organization, bulk_id=bulk_id)
        return render(request, "messaging/_bulk_progress.html", {"bulk": bulk})


# --- log, detail, cancel, export ---


def _log_filters(params):
    """MessageFilters from the query string; the recipient may be typed in any accepted form (0917…)."""
    params = params.copy()
    to = (params.get("to") or "").strip()
    if to:
        try:
            params["to"] = normalize_ph_number(to)
        except InvalidPhoneNumber as exc:
            raise ApplicationError(f"Recipient filter: {exc.message}", code="invalid_filter")
    return selectors.MessageFilters.from_params(params)


def _filter_query(params) -> str:
    keep = {k: v for k, v in params.items() if k not in ("cursor", "before") and v}
    return urlencode(keep)


class MessageLogView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/log.html"
    required_permissions = {"GET": Permission.VIEW}

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if context.get("filter_error") else 200)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        context["params"] = params
        context["statuses"] = MessageStatus.choices
        context["networks"] = Network.choices
        context["channels"] = MessageChannel.choices
        context["provider_names"] = ui_selectors.provider_names()
        context["filter_query"] = _filter_query(params)
        context["can_send"] = self.membership.has_perm(Permission.SEND_MESSAGES)
        try:
            page = selectors.message_row_page(
                organization=self.organization,
                filters=_log_filters(params),
                cursor=params.get("cursor") or None,
                before=params.get("before") or None,
            )
        except ApplicationError as exc:
            context["filter_error"] = exc.message
            context["rows"], context["next_cursor"], context["previous_cursor"] = [], None, None
            return context
        rows = log_rows(page.results)
        context["rows"] = rows
        context["next_cursor"] = page.next_cursor
        context["previous_cursor"] = page.previous_cursor
        context["in_flight_ids"] = ",".join(row.pk_text for row in rows if row.on_its_way)
        return context


class MessageTotalsView(OrganizationViewMixin, View):
    """htmx partial: how many messages the log's filter matches and their credits. Asked for by the page once it
    is shown: the count reads every matching message (a fifth of a second for a million), which the page's rows
    do not wait for."""

    required_permissions = {"GET": Permission.VIEW}

    def get(self, request):
        try:
            filters = _log_filters(request.GET)
        except ApplicationError as exc:
            return HttpResponseBadRequest(exc.message)
        totals = selectors.message_totals(organization=self.organization, filters=filters)
        context = {"totals": totals, "filter_query": _filter_query(request.GET)}
        return render(request, "messaging/_log_totals.html", context)


class MessageStatusesView(OrganizationViewMixin, View):
    """htmx partial: the log's in-flight rows redrawn whole, and their status badges (out-of-band swaps), with the
    next poller."""

    required_permissions = {"GET": Permission.VIEW}

    def get(self, request):
        raw_ids = [i.strip() for i in request.GET.get("ids", "").split(",") if i.strip()]
        # Message ids are positive 64-bit integers; anything else (a word, 10**23) is a bad request, not a crash.
        if not all(i.isascii() and i.isdigit() and 0 < int(i) < 2**63 for i in raw_ids):
            return HttpResponseBadRequest("ids: comma-separated message ids.")
        ids = [int(i) for i in raw_ids]
        rows = log_rows(ui_selectors.message_status_rows(organization=self.organization, message_ids=ids), oob=True)
        still = ",".join(row.pk_text for row in rows if row.on_its_way)
        return render(request, "messaging/_status_poll.html", {"rows": rows, "in_flight_ids": still})


class MessageDetailView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/detail.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        message = selectors.message_get(organization=self.organization, message_id=kwargs["message_id"])
        context["message"] = message
        context["attempts"] = selectors.message_attempt_list(organization=self.organization, message_id=message.pk)
        context["can_cancel"] = message.status == MessageStatus.QUEUED and self.membership.has_perm(
            Permission.SEND_MESSAGES
        )
        context["in_flight"] = ui_selectors.still_on_its_way(message)
        return context


class MessageCancelView(OrganizationViewMixin, View):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    def post(self, request, message_id):
        try:
            message_cancel(organization=self.organization, actor=request.user, message_id=message_id)
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            messages.error(request, exc.message)
        else:
            messages.success(request, "Message cancelled and refunded.")
        return redirect("messaging:detail", message_id=message_id)


class MessageExportView(OrganizationViewMixin, View):
    """The filtered log as CSV, streamed in chunks (bounded memory whatever the size; `messaging.log_export`)."""

    required_permissions = {"GET": Permission.VIEW}

    def get(self, request):
        try:
            filters = _log_filters(request.GET)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(reverse("messaging:log") + "?" + _filter_query(request.GET))
        queryset = selectors.message_list(organization=self.organization, filters=filters)
        audit_log_record(
            event_type="message.log_exported",
            organization=self.organization,
            actor=request.user,
            extra={"filters": _filter_query(request.GET)},
        )
        response = StreamingHttpResponse(export_rows(queryset), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="messages-{self.organization.slug}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


# --- webhook ---


class WebhookView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/webhook.html"
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.MANAGE_WEBHOOKS}
    DELIVERIES_SHOWN = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        endpoint = selectors.webhook_endpoint_get(organization=self.organization)
        context["endpoint"] = endpoint
        context.setdefault("form", WebhookForm(initial={"url": endpoint.url if endpoint else ""}))
        context["deliveries"] = list(
            selectors.webhook_delivery_list(organization=self.organization)[: self.DELIVERIES_SHOWN]
        )
        context["can_manage"] = self.membership.has_perm(Permission.MANAGE_WEBHOOKS)
        context["delivered_status"] = WebhookDeliveryStatus.DELIVERED
        return context

    def post(self, request):
        action = request.POST.get("action", "set")
        try:
            if action == "set":
                form = WebhookForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(form=form), status=400)
                existed = selectors.webhook_endpoint_get(organization=self.organization) is not None
                endpoint, secret = webhook_endpoint_set(
                    organization=self.organization, actor=request.user, url=form.cleaned_data["url"]
                )
                if existed:
                    messages.success(request, "Webhook URL changed; the signing secret stays the same.")
                    return redirect("messaging:webhook")
                # A new secret is shown once, in this response only.
                return self.render_to_response(self.get_context_data(new_secret=secret), status=201)
            if action == "delete":
                webhook_endpoint_delete(organization=self.organization, actor=request.user)
                messages.success(request, "Webhook removed. No more status events will be sent.")
            elif action == "retry":
                webhook_delivery_retry(
                    organization=self.organization,
                    actor=request.user,
                    delivery_id=int(request.POST.get("delivery_id", "0")),
                )
                messages.success(request, "Delivery queued to be sent again.")
            else:
                raise ApplicationError("Unknown action.")
        except ValueError:
            messages.error(request, "Invalid input.")
        except ApplicationError as exc:
            if exc.status == 404 and action == "retry":
                raise
            if action == "set":
                form = WebhookForm(request.POST)
                form.is_valid()
                form.add_error("url", exc.message)
                return self.render_to_response(self.get_context_data(form=form), status=exc.status)
            messages.error(request, exc.message)
        return redirect("messaging:webhook")
