"""Messaging API endpoints (all organization-scoped through OrganizationAPIView), plus the providers' delivery
callback, which is authenticated by the secret in its URL instead of an API key."""

from contextlib import nullcontext
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission
from accounts.schema import ErrorResponse
from messaging import selectors
from messaging.api_examples import EXAMPLES
from messaging.campaigns.preview import texts_for_numbers
from messaging.models import MessageChannel
from messaging.representation import message_row_to_dict, message_to_dict
from messaging.serializers import (
    MessageCreateOutput,
    MessageOutput,
    MessagePageOutput,
    MessageSendInput,
    NoticeListOutput,
    NoticeOutput,
    OtpSendInput,
    OtpSendOutput,
    OtpVerifyInput,
    OtpVerifyOutput,
    RouteExplainInput,
    RouteExplainOutput,
    WebhookDeliveryListOutput,
    WebhookDeliveryOutput,
    WebhookEndpointInput,
    WebhookEndpointOutput,
)
from messaging.services.delivery import delivery_callback_handle
from messaging.services.idempotency import idempotency_lookup, idempotency_request_hash, idempotency_store
from messaging.services.otp import otp_send, otp_verify
from messaging.services.sending import message_cancel, message_send, route_explain
from messaging.services.webhooks import webhook_endpoint_delete, webhook_endpoint_set
from portal.api import bounded_int_param
from portal.errors import ApplicationError, NotFound

ERROR = OpenApiResponse(ErrorResponse, description='{"error": {"code", "message", "details"}}')
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first answer for 24 hours; the same key with another body is a 409",
)


def _actor(view):
    return view.request.user if view.membership is not None else None


class MessageListCreateAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}

    @extend_schema(
        examples=EXAMPLES["messages_list"],
        operation_id="messages_list",
        description=(
            "The organization's messages, newest first. Filters combine; `created_from`/`created_to` take an ISO "
            "date (a whole day in Asia/Manila, both ends included) or datetime. Follow `next` (or pass `cursor`) "
            "for the next page; `next` is null on the last page.\n\n"
            "Example: `GET /api/v1/messages?status=delivered&created_from=2026-10-01&created_to=2026-10-31&"
            "page_size=100`\n\n"
            '`200`: `{"results": [{"id": 42, "to": "+639171234567", "status": "delivered", ...}], '
            '"next": "https://.../api/v1/messages?...&cursor=...", "next_cursor": "..."}`'
        ),
        summary="List messages (newest first, cursor pagination)",
        parameters=[
            OpenApiParameter("status", str, description="Comma-separated statuses"),
            OpenApiParameter("network", str, description="Comma-separated networks"),
            OpenApiParameter("provider", str, description="Route name"),
            OpenApiParameter("channel", str),
            OpenApiParameter("to", str, description="Recipient, E.164"),
            OpenApiParameter("campaign", int, description="The messages of one campaign (its id)"),
            OpenApiParameter("created_from", str, description="ISO date or datetime (Asia/Manila if naive)"),
            OpenApiParameter("created_to", str, description="ISO date or datetime, inclusive"),
            OpenApiParameter("cursor", str),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": selectors.MAX_PAGE_SIZE, "default": 50},
                description="Messages per page, 1-200 (default 50)",
            ),
        ],
        responses={200: MessagePageOutput, 400: ERROR},
    )
    def get(self, request):
        filters = selectors.MessageFilters.from_params(request.query_params)
        page_size = bounded_int_param(
            request.query_params,
            "page_size",
            default=selectors.DEFAULT_PAGE_SIZE,
            minimum=1,
            maximum=selectors.MAX_PAGE_SIZE,
        )
        page = selectors.message_row_page(
            organization=self.organization,
            filters=filters,
            cursor=request.query_params.get("cursor") or None,
            page_size=page_size,
        )
        next_url = None
        if page.next_cursor:
            params = request.query_params.copy()
            params["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)
        return Response(
            {
                "results": [message_row_to_dict(row) for row in page.results],
                "next": next_url,
                "next_cursor": page.next_cursor,
            }
        )

    @extend_schema(
        examples=EXAMPLES["messages_send"],
        operation_id="messages_send",
        summary="Send a message to one or up to 1,000 recipients",
        description=(
            "Charged at once (one price per message, by segments). Every recipient must be a valid "
            "Philippine "
            "mobile number: otherwise the whole request is refused with 400 `invalid_recipients` and "
            "`details.recipients` lists each bad input with its index; nothing is sent or charged. "
            "An opted-out "
            "recipient gets a message with status `rejected` (error `recipient_opted_out`) at no charge. "
            "Merge fields such as `{name}` or any contact field are filled per recipient from the organization's "
            "contacts; when a recipient is not a contact or lacks the field, the request is refused with 400 "
            "`merge_fields_unfilled` naming each recipient, and nothing is sent."
        ),
        parameters=[IDEMPOTENCY_HEADER],
        request=MessageSendInput,
        responses={201: MessageCreateOutput, 400: ERROR, 402: ERROR, 403: ERROR, 409: ERROR, 503: ERROR},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key")
        if key:
            request_hash = idempotency_request_hash(method="POST", path=request.path, data=request.data)
            stored = idempotency_lookup(organization=self.organization, key=key, request_hash=request_hash)
            if stored is not None:
                return self._replay(stored)
        serializer = MessageSendInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        texts = _merged_texts(organization=self.organization, body=data["body"], recipients=data["to"])
        try:
            # message_send is one transaction; storing the Idempotency-Key answer must join it.
            with transaction.atomic() if key else nullcontext():
                messages = message_send(
                    organization=self.organization,
                    actor=_actor(self),
                    api_key=self.api_key,
                    recipients=data["to"],
                    body=data["body"],
                    bodies=texts,
                    sender_name=data.get("sender_name") or None,
                    send_at=data.get("send_at"),
                    channel=MessageChannel.API if self.api_key else MessageChannel.DASHBOARD,
                )
                body = {"results": [message_to_dict(m) for m in messages]}
                if key:
                    idempotency_store(
                        organization=self.organization,
                        key=key,
                        request_hash=request_hash,
                        status=201,
                        body=body,
                    )
        except IntegrityError:
            if not key:
                raise
            # The same key committed concurrently by another request: replay its answer.
            stored = idempotency_lookup(organization=self.organization, key=key, request_hash=request_hash)
            if stored is None:
                raise
            return self._replay(stored)
        return Response(body, status=201)

    @staticmethod
    def _replay(stored):
        return Response(stored.response_body, status=stored.response_status, headers={"Idempotent-Replayed": "true"})


def _merged_texts(*, organization, body: str, recipients: list) -> list[str] | None:
    """Each recipient's text when the body has merge fields (`Hi {name}!`), filled from the organization's contacts.

    A text that some recipient cannot fill is refused whole, never sent with its braces: 400
    `merge_fields_unfilled`, `details.recipients` naming each one (1-based `position`, as on the send page)."""
    texts, errors = texts_for_numbers(organization=organization, body=body, numbers=recipients)
    if errors:
        raise ApplicationError(
            f"The text's merge fields cannot be filled for {len(errors)} recipient(s). Nothing was sent or charged.",
            code="merge_fields_unfilled",
            details={"recipients": errors},
        )
    return texts


class MessageDetailAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["messages_get"],
        operation_id="messages_get",
        summary="One message",
        description="A message with its status, segments, price, route and timestamps (see `messages_list`).",
        responses={200: MessageOutput, 404: ERROR},
    )
    def get(self, request, message_id: int):
        message = selectors.message_get(organization=self.organization, message_id=message_id)
        return Response(message_to_dict(message))


class MessageCancelAPI(OrganizationAPIView):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    @extend_schema(
        examples=EXAMPLES["messages_cancel"],
        operation_id="messages_cancel",
        summary="Cancel a queued (e.g. scheduled) message and refund it",
        description=(
            "Only a message still `queued` (not yet handed to a network) can be cancelled; its price goes back to "
            "the balance. A message already sent answers 409 `conflict`."
        ),
        request=None,
        responses={200: MessageOutput, 404: ERROR, 409: ERROR},
    )
    def post(self, request, message_id: int):
        message = message_cancel(
            organization=self.organization, actor=_actor(self), api_key=self.api_key, message_id=message_id
        )
        return Response(message_to_dict(message))


class RouteExplainAPI(OrganizationAPIView):
    required_permissions = {"POST": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["messages_explain"],
        operation_id="messages_explain",
        summary="Which route would take this message now, with which sender name and price, and why",
        description=(
            "Nothing is sent or charged. Useful to check a number's network, the segment count and the price "
            'before sending. Example body: `{"to": "+639171234567", "body": "Hello"}`.'
        ),
        request=RouteExplainInput,
        responses={200: RouteExplainOutput, 400: ERROR},
    )
    def post(self, request):
        serializer = RouteExplainInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        explanation = route_explain(
            organization=self.organization,
            recipient=serializer.validated_data["to"],
            body=serializer.validated_data["body"],
        )
        body = explanation.as_dict()
        # Customers learn which routes were skipped and why, not the shared routes' usage or failure counts: those
        # reflect every tenant's traffic (staff see the details in admin).
        body["skipped"] = [{"name": skip["name"], "reason": skip["reason"]} for skip in body["skipped"]]
        return Response(body)


class OtpSendAPI(OrganizationAPIView):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    @extend_schema(
        examples=EXAMPLES["otp_send"],
        operation_id="otp_send",
        summary="Send a one-time password (the code replaces :otp in the template; charged as a message)",
        description=(
            "Generates a code, sends it by SMS and keeps it for verification with `otp_verify`. Example body: "
            '`{"phone_number": "+639171234567", "template": "Your code is :otp"}`. Too many codes to one number '
            "answer 429."
        ),
        request=OtpSendInput,
        responses={201: OtpSendOutput, 400: ERROR, 402: ERROR, 429: ERROR, 503: ERROR},
    )
    def post(self, request):
        serializer = OtpSendInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        challenge = otp_send(
            organization=self.organization,
            phone_number=serializer.validated_data["phone_number"],
            template=serializer.validated_data["template"],
            actor=_actor(self),
            api_key=self.api_key,
        )
        message = challenge.message
        return Response(
            {
                "id": challenge.pk,
                "phone_number": challenge.phone_number,
                "expires_at": challenge.expires_at.isoformat(),
                "message": message_to_dict(message) if message else None,
            },
            status=201,
        )


class OtpVerifyAPI(OrganizationAPIView):
    required_permissions = {"POST": Permission.SEND_MESSAGES}

    @extend_schema(
        examples=EXAMPLES["otp_verify"],
        operation_id="otp_verify",
        summary="Check a one-time password (every try counts; expired or used codes answer false)",
        description=(
            'Example body: `{"phone_number": "+639171234567", "code": "123456"}`; answer `{"valid": true}` once, '
            "for the latest code sent to that number."
        ),
        request=OtpVerifyInput,
        responses={200: OtpVerifyOutput, 400: ERROR},
    )
    def post(self, request):
        serializer = OtpVerifyInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        valid = otp_verify(
            organization=self.organization,
            phone_number=serializer.validated_data["phone_number"],
            code=serializer.validated_data["code"],
        )
        return Response({"valid": valid})


class NoticeListAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["notices_list"],
        operation_id="notices_list",
        summary="Active site notices",
        description="Notices from the operator (e.g. a network's delivery delays); every active one in one page.",
        responses={200: NoticeListOutput},
    )
    def get(self, request):
        # Every active notice fits one answer; `next` is there because every list answer has it.
        return Response({"results": NoticeOutput(selectors.notice_list_active(), many=True).data, "next": None})


class WebhookEndpointAPI(OrganizationAPIView):
    required_permissions = {
        "GET": Permission.VIEW,
        "PUT": Permission.MANAGE_WEBHOOKS,
        "DELETE": Permission.MANAGE_WEBHOOKS,
    }

    @extend_schema(
        examples=EXAMPLES["webhook_get"],
        operation_id="webhook_get",
        summary="The status webhook",
        description="Where each message's status change is POSTed (signed with HMAC-SHA256); 404 when none is set.",
        responses={200: WebhookEndpointOutput, 404: ERROR},
    )
    def get(self, request):
        endpoint = selectors.webhook_endpoint_get(organization=self.organization)
        if endpoint is None:
            raise NotFound("No webhook is configured.")
        return Response({"url": endpoint.url, "enabled": endpoint.enabled, "created_at": endpoint.created_at})

    @extend_schema(
        examples=EXAMPLES["webhook_set"],
        operation_id="webhook_set",
        summary="Set the status webhook (the secret is generated when omitted and shown only in this answer)",
        description=(
            "The URL must be HTTPS on a public address. Example body: "
            '`{"url": "https://example.com/sms-status", "enabled": true}`.'
        ),
        request=WebhookEndpointInput,
        responses={200: WebhookEndpointOutput, 400: ERROR},
    )
    def put(self, request):
        serializer = WebhookEndpointInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = webhook_endpoint_set(
            organization=self.organization,
            actor=_actor(self),
            url=serializer.validated_data["url"],
            secret=serializer.validated_data.get("secret"),
            enabled=serializer.validated_data["enabled"],
        )
        body = {"url": endpoint.url, "enabled": endpoint.enabled, "created_at": endpoint.created_at}
        if secret is not None:
            body["secret"] = secret
        return Response(body)

    @extend_schema(
        examples=EXAMPLES["webhook_delete"],
        operation_id="webhook_delete",
        summary="Remove the status webhook",
        description="Status changes are no longer POSTed; 404 when none is set.",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request):
        webhook_endpoint_delete(organization=self.organization, actor=_actor(self))
        return Response(status=204)


class WebhookDeliveryListAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["webhook_deliveries_list"],
        operation_id="webhook_deliveries_list",
        summary="The latest 100 webhook deliveries",
        description="Each status event sent (or being sent) to the webhook, newest first, with its last answer.",
        parameters=[OpenApiParameter("status", str)],
        responses={200: WebhookDeliveryListOutput},
    )
    def get(self, request):
        deliveries = selectors.webhook_delivery_list(
            organization=self.organization, status=request.query_params.get("status") or None
        )[:100]
        return Response({"results": WebhookDeliveryOutput(deliveries, many=True).data, "next": None})


class DeliveryCallbackAPI(APIView):
    """Delivery receipts from a provider. No API key: the per-provider secret in the URL authenticates it, and a
    wrong secret answers 404 like an unknown route."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        exclude=True,  # for the providers (URL given to them by staff), not part of the customers' API
        operation_id="provider_delivery_callback",
        summary="Provider delivery receipts (URL given to the provider by staff)",
        request=inline_serializer("DeliveryCallbackInput", {"message_id": serializers.CharField()}),
        responses={
            200: inline_serializer("DeliveryCallbackOutput", {"updated": serializers.IntegerField()}),
            404: ERROR,
        },
    )
    def post(self, request, adapter: str, provider_id: int, secret: str):
        data = request.data.dict() if hasattr(request.data, "dict") else request.data
        updated = delivery_callback_handle(
            adapter=adapter, provider_id=provider_id, secret=secret, data=data, headers=dict(request.headers)
        )
        return Response({"updated": updated})
