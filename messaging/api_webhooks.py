"""Webhook API beyond the settings (`messaging.api`): send a test event, read one delivery, retry a failed one.

The test event and a retry need the `admin` scope (they configure and exercise the webhook); reading needs `read`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission
from accounts.schema import ERROR
from messaging import selectors
from messaging.api_examples import EXAMPLES
from messaging.serializers import WebhookDeliveryOutput
from messaging.services.webhook_test import webhook_test_send
from messaging.services.webhooks import webhook_delivery_retry


class WebhookTestAPI(OrganizationAPIView):
    required_permissions = {"POST": Permission.MANAGE_WEBHOOKS}

    @extend_schema(
        examples=EXAMPLES["webhook_test"],
        operation_id="webhook_test",
        summary="Send a test event to the webhook now",
        description=(
            "POSTs one `webhook.test` event, signed like every status event (`X-Portal-Timestamp`, "
            "`X-Portal-Signature: sha256=<HMAC-SHA256(secret, timestamp + '.' + body)>`), to the configured URL "
            "and answers with the delivery: `status` is `delivered` when your endpoint answered 2xx, otherwise "
            "`failed` with `last_status_code` and `last_error`. A test is tried once and never retried; it "
            "appears in the delivery log. 404 when no webhook is configured, 409 `webhook_disabled` when it is "
            "disabled. Needs the `admin` scope."
        ),
        request=None,
        responses={200: WebhookDeliveryOutput, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request):
        delivery = webhook_test_send(organization=self.organization, actor=self.acting_person, api_key=self.api_key)
        return Response(WebhookDeliveryOutput(delivery).data)


class WebhookDeliveryDetailAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["webhook_delivery_get"],
        operation_id="webhook_delivery_get",
        summary="One webhook delivery",
        description="A status event sent (or being sent) to the webhook, with its tries. Needs the `read` scope.",
        responses={200: WebhookDeliveryOutput, 404: ERROR},
    )
    def get(self, request, delivery_id: int):
        delivery = selectors.webhook_delivery_get(organization=self.organization, delivery_id=delivery_id)
        return Response(WebhookDeliveryOutput(delivery).data)


class WebhookDeliveryRetryAPI(OrganizationAPIView):
    required_permissions = {"POST": Permission.MANAGE_WEBHOOKS}

    @extend_schema(
        examples=EXAMPLES["webhook_delivery_retry"],
        operation_id="webhook_delivery_retry",
        summary="Send a failed or pending webhook delivery again now",
        description=(
            "Queues the delivery to be sent again at once (the dashboard's Retry button). 409 "
            "`already_delivered` when it already succeeded. Needs the `admin` scope."
        ),
        request=None,
        responses={202: WebhookDeliveryOutput, 404: ERROR, 409: ERROR},
    )
    def post(self, request, delivery_id: int):
        delivery = webhook_delivery_retry(
            organization=self.organization, actor=self.acting_person, delivery_id=delivery_id
        )
        return Response(WebhookDeliveryOutput(delivery).data, status=202)
