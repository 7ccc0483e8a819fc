"""Privacy policy acknowledgement through the API, for integrations that show the policy notice themselves."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_base import UserAPIView
from accounts.services import client_ip
from privacy.policy import policy_acknowledge, policy_get_published


class AcknowledgementInput(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, help_text="The policy version your app showed the person (from /privacy/policy/<version>/)."
    )


class AcknowledgementOutput(serializers.Serializer):
    version = serializers.IntegerField(source="policy_version.version")
    acknowledged_at = serializers.DateTimeField()


class PolicyAcknowledgementAPI(UserAPIView):
    @extend_schema(
        operation_id="privacy_policy_acknowledge",
        summary="Record that the signed-in person read a privacy policy version",
        description=(
            "For apps that show the privacy policy notice themselves instead of the portal's banner. After the "
            "person has been shown the full text of a published version and confirmed they read it, send that "
            "version here: the portal records the acknowledgement (time and IP address) and stops showing its own "
            "banner for that version.\n\n"
            "Call it with the person's own signed-in session, never with an organization's API key: an "
            "acknowledgement belongs to a person. Sending the same version again changes nothing and answers "
            "200 with the first acknowledgement; the first call answers 201. An unknown or unpublished version "
            "answers 404 (`not_found`). Errors have the usual shape "
            '`{"error": {"code", "message", "details"}}`.'
        ),
        request=AcknowledgementInput,
        responses={201: AcknowledgementOutput, 200: AcknowledgementOutput},
        examples=[
            OpenApiExample(
                "Version 2 was shown",
                value={"version": 2},
                request_only=True,
                description=(
                    '`curl -b "sessionid=$SESSION" -H "X-CSRFToken: $CSRF" --json \'{"version": 2}\' '
                    "https://sms.example.com/api/v1/privacy/acknowledgements`"
                ),
            ),
            OpenApiExample(
                "Recorded",
                value={"version": 2, "acknowledged_at": "2026-11-29T23:40:00Z"},
                response_only=True,
                status_codes=["201", "200"],
            ),
        ],
    )
    def post(self, request):
        data = AcknowledgementInput(data=request.data)
        data.is_valid(raise_exception=True)
        policy = policy_get_published(version=data.validated_data["version"])
        already = policy.acknowledgements.filter(user=request.user).exists()
        acknowledgement = policy_acknowledge(user=request.user, policy_version=policy, ip=client_ip(request))
        return Response(
            AcknowledgementOutput(acknowledgement).data,
            status=status.HTTP_200_OK if already else status.HTTP_201_CREATED,
        )
