"""Tells drf-spectacular how API keys authenticate, so the OpenAPI schema and docs show the Bearer scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
