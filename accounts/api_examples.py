"""Examples of the account API for the OpenAPI reference: the request an integrator makes and the answer."""

from drf_spectacular.utils import OpenApiExample

EXAMPLES: dict[str, list[OpenApiExample]] = {
    "me_retrieve": [
        OpenApiExample(
            "An API key of Alpha Retail",
            value={
                "organization": {"id": 1, "name": "Alpha Retail", "slug": "alpha", "status": "active"},
                "key": {"name": "Alpha server", "prefix": "sk_live_ee4fad5f", "created": "2026-11-30T07:25:36+08:00"},
            },
            response_only=True,
            status_codes=["200"],
            description='Request: `curl -H "Authorization: Bearer $SMS_API_KEY" https://sms.example.com/api/v1/me`',
        )
    ],
}
