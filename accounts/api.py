"""Accounts API: `GET /api/v1/me`, the first endpoint and the pattern for the others."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_base import OrganizationAPIView
from accounts.api_examples import EXAMPLES
from accounts.roles import Permission


class MeAPI(OrganizationAPIView):
    required_permissions = {"GET": Permission.VIEW}

    class OrganizationOutput(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        status = serializers.CharField()

    class KeyOutput(serializers.Serializer):
        name = serializers.CharField()
        prefix = serializers.CharField()
        created = serializers.DateTimeField(source="created_at")

    @extend_schema(
        examples=EXAMPLES["me_retrieve"],
        summary="Who am I",
        description="The organization the credentials act for, and the API key used (null for a browser session).",
        responses=inline_serializer(
            "MeOutput",
            {"organization": OrganizationOutput(), "key": KeyOutput(allow_null=True)},
        ),
    )
    def get(self, request):
        return Response(
            {
                "organization": self.OrganizationOutput(self.organization).data,
                "key": self.KeyOutput(self.api_key).data if self.api_key else None,
            }
        )
