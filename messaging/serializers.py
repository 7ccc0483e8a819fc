"""API input/output shapes of the messaging endpoints (parsing and documenting only; logic: services)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import MessageStatus, Notice, WebhookDelivery
from messaging.representation import message_to_dict
from messaging.segments import Encoding


class StrictCharField(serializers.CharField):
    """A string only: DRF's CharField turns `0` or `true` into "0" or "True", and a client that sends the wrong
    type must hear so (400), not have it guessed."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "example": "09171234567"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1000},
        ]
    }
)
class RecipientsField(serializers.Field):
    """One number (string) or a list of up to SMS_MAX_RECIPIENTS_PER_REQUEST numbers."""

    default_error_messages = {
        "type": "Give one number as a string or a list of numbers.",
        "empty": "Give at least one recipient.",
        "too_many": "At most {limit} recipients per request.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            return [data]
        if not isinstance(data, list) or not all(isinstance(item, str | int) for item in data):
            self.fail("type")
        if not data:
            self.fail("empty")
        if len(data) > settings.SMS_MAX_RECIPIENTS_PER_REQUEST:
            self.fail("too_many", limit=settings.SMS_MAX_RECIPIENTS_PER_REQUEST)
        return [str(item) for item in data]

    def to_representation(self, value):
        return value


class MessageSendInput(serializers.Serializer):
    to = RecipientsField(help_text="A number (09XXXXXXXXX or +639XXXXXXXXX) or a list of up to 1,000")
    body = StrictCharField(trim_whitespace=False, allow_blank=True)
    sender_name = StrictCharField(required=False, allow_blank=True, max_length=11)
    send_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Schedule (ISO 8601 with offset); omitted = now"
    )


class MessageErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class MessageOutput(serializers.Serializer):
    """A message as every API answer and webhook shows it."""

    id = serializers.IntegerField()
    to = serializers.CharField(help_text="E.164")
    sender_name = serializers.CharField()
    body = serializers.CharField()
    encoding = serializers.ChoiceField(choices=Encoding.choices)
    segments = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Credits charged")
    status = serializers.ChoiceField(choices=MessageStatus.choices)
    provider = serializers.CharField(allow_null=True, help_text="Route that took it")
    network = serializers.CharField()
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()
    send_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    error = MessageErrorOutput(allow_null=True)

    def to_representation(self, instance):
        return message_to_dict(instance)


class MessageCreateOutput(serializers.Serializer):
    results = MessageOutput(many=True)


class MessagePageOutput(serializers.Serializer):
    results = MessageOutput(many=True)
    next = serializers.URLField(allow_null=True, help_text="URL of the next page, null on the last")
    next_cursor = serializers.CharField(allow_null=True)


class RouteExplainInput(serializers.Serializer):
    to = StrictCharField()
    body = StrictCharField(trim_whitespace=False)


class SkippedProviderOutput(serializers.Serializer):
    name = serializers.CharField()
    reason = serializers.CharField()


class RouteExplainOutput(serializers.Serializer):
    to = serializers.CharField()
    network = serializers.CharField()
    provider = serializers.CharField(allow_null=True)
    sender_name = serializers.CharField()
    encoding = serializers.CharField()
    segments = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    reason = serializers.CharField()
    is_fallback = serializers.BooleanField()
    skipped = SkippedProviderOutput(many=True)


class OtpSendInput(serializers.Serializer):
    phone_number = StrictCharField()
    template = StrictCharField(trim_whitespace=False, help_text='Must contain ":otp"')


class OtpSendOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phone_number = serializers.CharField()
    expires_at = serializers.DateTimeField()
    message = MessageOutput()


class OtpVerifyInput(serializers.Serializer):
    phone_number = StrictCharField()
    code = StrictCharField(max_length=12)


class OtpVerifyOutput(serializers.Serializer):
    valid = serializers.BooleanField()


class NoticeOutput(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = ["id", "kind", "title", "body", "published_at"]


class NoticeListOutput(serializers.Serializer):
    results = NoticeOutput(many=True)
    next = serializers.URLField(allow_null=True, help_text="Always null: every active notice is in one answer")


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(required=False, min_length=16, max_length=200)
    enabled = serializers.BooleanField(default=True)


class WebhookEndpointOutput(serializers.Serializer):
    url = serializers.URLField()
    enabled = serializers.BooleanField()
    secret = serializers.CharField(required=False, help_text="Only in the answer that set it")
    created_at = serializers.DateTimeField()


class WebhookDeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "message_id",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "payload",
        ]


class WebhookDeliveryListOutput(serializers.Serializer):
    results = WebhookDeliveryOutput(many=True)
    next = serializers.URLField(allow_null=True, help_text="Always null: the latest 100 deliveries")
