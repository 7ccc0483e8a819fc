"""Templates and campaigns API. A campaign is composed as a draft (`POST /campaigns`), previewed
(`GET /campaigns/{id}/preview`: each recipient's text, segments and price, duplicates and merge errors), then
confirmed (`POST /campaigns/{id}/confirm`); it can be cancelled before it starts (every message refunded).
Reading needs the `read` scope, writing the `send` scope; another organization's id is a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.roles import Permission
from accounts.schema import ERROR, page_of
from messaging.campaigns import selectors, services
from messaging.campaigns.api_examples import DESCRIPTIONS, EXAMPLES
from messaging.campaigns.models import CampaignStatus
from messaging.campaigns.preview import campaign_preview, group_contact_ids
from portal.api_lists import PAGE_PARAMETERS, cursor_page, list_answer, list_page_answer, page_size_param

WRITE = Permission.SEND_MESSAGES


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    body = serializers.CharField(help_text="With merge fields in braces: {name}, {city}")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TemplateInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    body = serializers.CharField(trim_whitespace=False)


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source = serializers.CharField(help_text="groups or csv")
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    body = serializers.CharField()
    template_id = serializers.IntegerField(allow_null=True)
    group_ids = serializers.SerializerMethodField()
    sender_name = serializers.CharField()
    send_at = serializers.DateTimeField(allow_null=True)
    send_to_duplicates = serializers.BooleanField()
    recipients_total = serializers.IntegerField()
    duplicates_skipped = serializers.IntegerField()
    merge_errors = serializers.IntegerField()
    error_message = serializers.CharField()
    counts = serializers.SerializerMethodField(help_text="Messages per status (every status, zeros included)")
    progress_percent = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)

    def get_group_ids(self, campaign) -> list[int]:
        return [group.pk for group in campaign.groups.all()]

    def get_counts(self, campaign) -> dict[str, int]:
        return dict(campaign.progress.counts)

    def get_progress_percent(self, campaign) -> int:
        return campaign.progress.percent


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    group_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1)
    template_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    body = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    sender_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=11)
    send_at = serializers.DateTimeField(required=False, allow_null=True, help_text="ISO 8601 with offset")
    send_to_duplicates = serializers.BooleanField(required=False, default=False)


class PreviewRowOutput(serializers.Serializer):
    position = serializers.IntegerField()
    contact_id = serializers.IntegerField()
    to = serializers.CharField(source="number")
    name = serializers.CharField()
    text = serializers.CharField()
    segments = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    error = serializers.CharField(help_text="An unknown or empty merge field, or a text too long")
    duplicate = serializers.BooleanField()
    opted_out = serializers.BooleanField()


class PreviewOutput(serializers.Serializer):
    total = serializers.IntegerField()
    sendable = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    duplicate_occurrences = serializers.IntegerField()
    merge_errors = serializers.IntegerField()
    opted_out = serializers.IntegerField()
    segments_total = serializers.IntegerField()
    price_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    rows = PreviewRowOutput(many=True)


# --- templates ---


class TemplateListCreateAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["templates_list"],
        description=DESCRIPTIONS["templates_list"],
        operation_id="templates_list",
        summary="Message templates, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of("TemplatePageOutput", TemplateOutput), 400: ERROR},
    )
    def get(self, request):
        return Response(
            list_page_answer(request, selectors.template_list(organization=self.organization), TemplateOutput)
        )

    @extend_schema(
        examples=EXAMPLES["templates_create"],
        operation_id="templates_create",
        summary="Add a template",
        description='Example: `{"name": "Reminder", "body": "Hi {name}, see you on {date}!"}`.',
        request=TemplateInput,
        responses={201: TemplateOutput, 400: ERROR, 409: ERROR},
    )
    def post(self, request):
        serializer = TemplateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.template_create(
            organization=self.organization, actor=self.acting_person, **serializer.validated_data
        )
        return Response(TemplateOutput(template).data, status=201)


class TemplateDetailAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "PUT": WRITE, "DELETE": WRITE}

    @extend_schema(
        examples=EXAMPLES["templates_get"],
        description=DESCRIPTIONS["templates_get"],
        operation_id="templates_get",
        summary="One template",
        responses={200: TemplateOutput, 404: ERROR},
    )
    def get(self, request, template_id: int):
        return Response(
            TemplateOutput(selectors.template_get(organization=self.organization, template_id=template_id)).data
        )

    @extend_schema(
        examples=EXAMPLES["templates_update"],
        description=DESCRIPTIONS["templates_update"],
        operation_id="templates_update",
        summary="Replace a template's name and text",
        request=TemplateInput,
        responses={200: TemplateOutput, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def put(self, request, template_id: int):
        serializer = TemplateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.template_update(
            organization=self.organization,
            actor=self.acting_person,
            template_id=template_id,
            **serializer.validated_data,
        )
        return Response(TemplateOutput(template).data)

    @extend_schema(
        examples=EXAMPLES["templates_delete"],
        description=DESCRIPTIONS["templates_delete"],
        operation_id="templates_delete",
        summary="Delete a template",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request, template_id: int):
        services.template_delete(organization=self.organization, actor=self.acting_person, template_id=template_id)
        return Response(status=204)


# --- campaigns ---


class CampaignListCreateAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW, "POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["campaigns_list"],
        description=DESCRIPTIONS["campaigns_list"],
        operation_id="campaigns_list",
        summary="Campaigns, newest first, each with its messages per status and progress",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of("CampaignPageOutput", CampaignOutput), 400: ERROR},
    )
    def get(self, request):
        page = cursor_page(
            selectors.campaign_list(organization=self.organization).prefetch_related(
                selectors.groups_prefetch(organization=self.organization)
            ),
            cursor=request.query_params.get("cursor"),
            page_size=page_size_param(request.query_params),
        )
        campaigns = selectors.campaigns_with_progress(organization=self.organization, campaigns=page.results)
        return Response(list_answer(request, page, CampaignOutput(campaigns, many=True).data))

    @extend_schema(
        examples=EXAMPLES["campaigns_create"],
        operation_id="campaigns_create",
        summary="Compose a campaign to contact groups (a draft: nothing is sent or charged)",
        description=(
            "Give `body` or a `template_id` (its text is copied). Merge fields `{name}` or any contact field are "
            "filled in per recipient. Then read `campaigns_preview` and call `campaigns_confirm`. Example: "
            '`{"name": "November sale", "group_ids": [3], "body": "Hi {name}! 20% off today.", '
            '"send_at": "2026-12-01T09:00:00+08:00"}`.'
        ),
        request=CampaignInput,
        responses={201: CampaignOutput, 400: ERROR, 404: ERROR},
    )
    def post(self, request):
        serializer = CampaignInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(
            organization=self.organization, actor=self.acting_person, api_key=self.api_key, **serializer.validated_data
        )
        campaign = selectors.campaign_get(organization=self.organization, campaign_id=campaign.pk)
        return Response(CampaignOutput(campaign).data, status=201)


class CampaignDetailAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["campaigns_get"],
        operation_id="campaigns_get",
        summary="One campaign with its messages per status",
        description="Its messages are in `messages_list` with `campaign={id}`.",
        responses={200: CampaignOutput, 404: ERROR},
    )
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get(organization=self.organization, campaign_id=campaign_id)
        return Response(CampaignOutput(campaign).data)


class CampaignPreviewAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    @extend_schema(
        examples=EXAMPLES["campaigns_preview"],
        operation_id="campaigns_preview",
        summary="What a draft campaign would send: each recipient's text, segments and price",
        description=(
            "Rows: the first `rows` recipients, then those with a problem. A merge field no recipient has, or one "
            "empty for a recipient, is that recipient's `error` (the text is never sent with braces in it); a "
            "number listed twice (a contact in two groups) is a `duplicate`, sent once unless `send_to_duplicates`."
        ),
        parameters=[
            OpenApiParameter("send_to_duplicates", bool, description="Preview as if duplicates were sent"),
            OpenApiParameter("rows", {"type": "integer", "minimum": 0, "maximum": 200, "default": 50}),
        ],
        responses={200: PreviewOutput, 400: ERROR, 404: ERROR},
    )
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get(organization=self.organization, campaign_id=campaign_id, with_progress=False)
        duplicates = request.query_params.get("send_to_duplicates")
        preview = campaign_preview(
            organization=self.organization,
            body=campaign.body,
            contact_ids=group_contact_ids(groups=list(campaign.groups.all())),
            send_to_duplicates=campaign.send_to_duplicates if duplicates is None else duplicates in ("1", "true"),
            rows_shown=page_size_param({"page_size": request.query_params.get("rows", "50")}),
        )
        return Response(PreviewOutput(preview).data)


class CampaignConfirmAPI(OrganizationAPIView):
    required_permissions = {"POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["campaigns_confirm"],
        operation_id="campaigns_confirm",
        summary="Confirm a draft: its messages are created and charged in the background",
        description="Follow `counts` on `campaigns_get`. A second confirmation is a 409.",
        request=inline_serializer(
            "CampaignConfirmInput", {"send_to_duplicates": serializers.BooleanField(required=False)}
        ),
        responses={202: CampaignOutput, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, campaign_id: int):
        duplicates = request.data.get("send_to_duplicates") if hasattr(request.data, "get") else None
        services.campaign_confirm(
            organization=self.organization,
            actor=self.acting_person,
            api_key=self.api_key,
            campaign_id=campaign_id,
            send_to_duplicates=None if duplicates is None else duplicates in (True, "true", "1", 1),
        )
        campaign = selectors.campaign_get(organization=self.organization, campaign_id=campaign_id)
        return Response(CampaignOutput(campaign).data, status=202)


class CampaignCancelAPI(OrganizationAPIView):
    required_permissions = {"POST": WRITE}

    @extend_schema(
        examples=EXAMPLES["campaigns_cancel"],
        operation_id="campaigns_cancel",
        summary="Cancel a campaign before it starts; every message it created is refunded",
        description="A draft, or a scheduled campaign before its `send_at`; otherwise 409 `not_cancellable`.",
        request=None,
        responses={200: CampaignOutput, 404: ERROR, 409: ERROR},
    )
    def post(self, request, campaign_id: int):
        services.campaign_cancel(
            organization=self.organization, actor=self.acting_person, api_key=self.api_key, campaign_id=campaign_id
        )
        return Response(
            CampaignOutput(selectors.campaign_get(organization=self.organization, campaign_id=campaign_id)).data
        )
