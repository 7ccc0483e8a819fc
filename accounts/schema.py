"""The OpenAPI schema's conventions: how API keys authenticate (Bearer), the shared error answers and the rate limit
headers of every operation (`APIAutoSchema`, the DEFAULT_SCHEMA_CLASS)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.APIKeyAuthentication"
    name = "APIKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An organization's API key: `Authorization: Bearer sk_live_...`. Create one on the API keys page."
            ),
        }


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: `invalid`, `not_found`, `rate_limited`, ...")
    message = serializers.CharField(help_text="For people; may change")
    details = serializers.DictField(
        help_text='Per parameter or field, what is wrong with it, e.g. `{"created_to": ["..."]}`'
    )


class ErrorResponse(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorDetail()


# What an operation lists under `responses` for each error status it answers.
ERROR = OpenApiResponse(ErrorResponse, description='{"error": {"code", "message", "details"}}')


def page_of(name: str, item: type[serializers.Serializer]):
    """The schema of one page of a list (`portal.api_lists.list_answer`): `results` of `item`, `next`, `next_cursor`."""
    return inline_serializer(
        name,
        {
            "results": item(many=True),
            "next": serializers.URLField(allow_null=True),
            "next_cursor": serializers.CharField(allow_null=True),
        },
    )


_ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a parameter, a field or the body (malformed, too large or too deeply nested JSON), or a "
    "query parameter given twice. `details` names what is wrong.",
    "401": "No credentials, or an unknown, revoked or expired API key.",
    "403": "The key or the member's role does not allow this, or the organization is suspended.",
    "404": "No such object in this organization (another organization's objects look missing too).",
    "429": "Too many requests: `rate_limited`; `Retry-After` says how many seconds to wait.",
}
_RATE_LIMIT_HEADERS = [
    OpenApiParameter(name, int, OpenApiParameter.HEADER, response=True, description=description)
    for name, description in [
        ("X-RateLimit-Limit", "Requests allowed per minute on the tightest budget (key or organization)"),
        ("X-RateLimit-Remaining", "Requests left in this minute"),
        ("X-RateLimit-Reset", "When the minute ends (Unix seconds)"),
    ]
]


class APIAutoSchema(AutoSchema):
    """Every operation documents the shared error answers and the rate limit headers; the base views' own
    docstrings (written for the engineers of this code) never become an operation's description."""

    def get_description(self):
        action = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        action_doc = get_doc(action)
        own_doc = self.view.__class__.__doc__
        return action_doc or (get_doc(self.view.__class__) if own_doc else "")

    def get_override_parameters(self):
        return [*super().get_override_parameters(), *_RATE_LIMIT_HEADERS]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        codes = ["400", "401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorResponse, description=_ERROR_DESCRIPTIONS[code]), code, direction=direction
                )
        return responses
