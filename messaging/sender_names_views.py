"""Sender names for the customer: the dashboard page (/sender-names/) and the native API (/api/v1/sender-names)."""

from django.contrib import messages as flash
from django.shortcuts import redirect
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission
from accounts.web import OrganizationViewMixin
from messaging.api_examples import EXAMPLES
from messaging.models import SenderName
from messaging.sender_names import sender_name_list, sender_name_request, sender_name_set_default
from portal.errors import ApplicationError


def sender_name_to_dict(sender_name: SenderName) -> dict:
    return {
        "name": sender_name.name,
        "status": sender_name.status,
        "is_default": sender_name.is_default,
        "purpose": sender_name.purpose,
        "reason": sender_name.reason,
        "created_at": sender_name.created_at.isoformat(),
        "reviewed_at": sender_name.reviewed_at.isoformat() if sender_name.reviewed_at else None,
    }


class SenderNameRequestInput(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    purpose = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class SenderNameOutput(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "approved", "rejected"])
    is_default = serializers.BooleanField()
    purpose = serializers.CharField()
    reason = serializers.CharField(help_text="Staff's reason when rejected")
    created_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)


class SenderNameListCreateAPI(OrganizationAPIView):
    """GET: the organization's sender names and their status. POST {"name", "purpose"}: request one (201)."""

    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}
    serializer_class = SenderNameRequestInput

    @extend_schema(
        operation_id="sender_names_list",
        summary="The organization's sender names",
        description=(
            "Every sender name the organization asked for, with staff's decision (`pending`, `approved`, "
            "`rejected` with a reason) and which approved name is the default. Send with an approved name by "
            "giving it as `sender_name` to `POST /api/v1/messages`; without one, the default is used."
        ),
        examples=EXAMPLES["sender_names_list"],
        responses=inline_serializer("SenderNameList", {"sender_names": SenderNameOutput(many=True)}),
    )
    def get(self, request):
        names = sender_name_list(organization=self.organization)
        return Response({"sender_names": [sender_name_to_dict(n) for n in names]})

    @extend_schema(
        operation_id="sender_names_request",
        summary="Ask for a sender name",
        description=(
            "Up to 11 letters, digits or spaces. Staff review it; until approved it cannot be used. Answers the "
            "request (201); a name the organization already asked for is refused with 409."
        ),
        examples=EXAMPLES["sender_names_request"],
        request=SenderNameRequestInput,
        responses={201: SenderNameOutput},
    )
    def post(self, request):
        data = SenderNameRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        sender_name = sender_name_request(
            organization=self.organization,
            name=data.validated_data["name"],
            purpose=data.validated_data["purpose"],
            actor=request.user if self.membership is not None else None,
            api_key=self.api_key,
        )
        return Response(sender_name_to_dict(sender_name), status=201)


class SenderNamesView(OrganizationViewMixin, TemplateView):
    """Request sender names, see staff's decision, choose the default."""

    template_name = "messaging/sender_names.html"
    required_permissions = {"GET": Permission.VIEW, "POST": Permission.SEND_MESSAGES}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sender_names"] = sender_name_list(organization=self.organization)
        context["can_request"] = self.membership.has_perm(Permission.SEND_MESSAGES)
        return context

    def post(self, request):
        try:
            if request.POST.get("action") == "default":
                chosen = sender_name_set_default(
                    organization=self.organization, name=request.POST.get("name", ""), actor=request.user
                )
                flash.success(request, f"{chosen.name} is now your default sender name.")
            else:
                requested = sender_name_request(
                    organization=self.organization,
                    name=request.POST.get("name", ""),
                    purpose=request.POST.get("purpose", ""),
                    actor=request.user,
                )
                flash.success(request, f"{requested.name} was sent to our staff for approval.")
        except ApplicationError as exc:
            flash.error(request, exc.message)
        return redirect("sender_names")
