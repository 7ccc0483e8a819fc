"""Privacy API: a signed-in person's own data subject requests (sessions only; an API key acts for an
organization, not a person). Another person's request answers 404, exactly like a missing one."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_base import UserAPIView
from accounts.services import client_ip
from privacy.requests.api_examples import EXAMPLES
from privacy.requests.intake import request_submit
from privacy.requests.models import RequestChannel, RequestKind
from privacy.requests.selectors import request_get_for_user, request_list_for_user
from privacy.requests.workflow import live_due_at
from privacy.sla import band_for, days_left


class RequestOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    details = serializers.CharField()
    requested_changes = serializers.DictField()
    objections = serializers.ListField(child=serializers.CharField())
    received_at = serializers.DateTimeField()
    first_response_due_at = serializers.DateTimeField()
    due_at = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    band = serializers.SerializerMethodField()
    extended = serializers.BooleanField()
    extension_reason = serializers.CharField()
    rejection_reason = serializers.CharField()
    resolution_note = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def _due(self, obj):
        return live_due_at(obj, now=self.context["now"])

    def get_due_at(self, obj) -> str:
        return serializers.DateTimeField().to_representation(self._due(obj))

    def get_days_left(self, obj) -> int:
        return days_left(due_at=self._due(obj), now=self.context["now"])

    def get_band(self, obj) -> str:
        return band_for(due_at=self._due(obj), now=self.context["now"]).value


def _context():
    return {"now": timezone.now()}


class PrivacyRequestListAPI(UserAPIView):
    class Input(serializers.Serializer):
        kind = serializers.ChoiceField(choices=RequestKind.choices)
        details = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")
        requested_changes = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
        objections = serializers.ListField(child=serializers.CharField(), required=False)

    @extend_schema(
        examples=EXAMPLES["privacy_requests_list"],
        operation_id="privacy_requests_list",
        description="The signed-in person's own privacy requests (a session, not an API key), with their due dates.",
        summary="My privacy requests (the latest 100)",
        responses=inline_serializer(
            "PrivacyRequestList",
            {"results": RequestOutput(many=True), "next": serializers.URLField(allow_null=True)},
        ),
    )
    def get(self, request):
        requests = request_list_for_user(user=request.user)[:100]
        return Response({"results": RequestOutput(requests, many=True, context=_context()).data, "next": None})

    @extend_schema(
        examples=EXAMPLES["privacy_requests_create"],
        summary="Make a privacy request",
        description=("Access, update, delete or object, for the signed-in person. Acknowledged by e-mail at once."),
        request=Input,
        responses={201: RequestOutput},
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        dsr, _token = request_submit(
            kind=data.validated_data["kind"],
            email="",
            channel=RequestChannel.API,
            user=request.user,
            details=data.validated_data.get("details", ""),
            requested_changes=data.validated_data.get("requested_changes") or {},
            objections=data.validated_data.get("objections") or [],
            ip=client_ip(request),
        )
        dsr.refresh_from_db()
        return Response(RequestOutput(dsr, context=_context()).data, status=status.HTTP_201_CREATED)


class PrivacyRequestDetailAPI(UserAPIView):
    @extend_schema(
        examples=EXAMPLES["privacy_requests_retrieve"],
        summary="One of my privacy requests",
        description="A privacy request of the signed-in person, with its status and due date.",
        responses=RequestOutput,
    )
    def get(self, request, request_id: int):
        dsr = request_get_for_user(user=request.user, request_id=request_id)
        return Response(RequestOutput(dsr, context=_context()).data)
