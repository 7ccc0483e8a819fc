"""The OpenAPI schema is built from the code: it must build without a warning, so the docs never drift silently."""

import json
from io import StringIO

from django.core.management import call_command


def test_the_schema_builds_without_warnings_and_documents_bearer_keys(db):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    schema = out.getvalue()
    assert '"scheme": "bearer"' in schema
    for path in ["/api/v1/me", "/api/v1/messages", "/api/v1/balance", "/api/v1/notices", "/api/v1/privacy/requests"]:
        assert f'"{path}"' in schema, path


def _schema() -> dict:
    out = StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    return json.loads(out.getvalue())


NATIVE_OPERATIONS = [
    ("/api/v1/messages", "get"),
    ("/api/v1/messages", "post"),
    ("/api/v1/messages/{message_id}", "get"),
    ("/api/v1/messages/{message_id}/cancel", "post"),
    ("/api/v1/messages/explain", "post"),
    ("/api/v1/notices", "get"),
    ("/api/v1/otp/send", "post"),
    ("/api/v1/otp/verify", "post"),
    ("/api/v1/webhook", "get"),
    ("/api/v1/webhook", "put"),
    ("/api/v1/webhook", "delete"),
    ("/api/v1/webhook/deliveries", "get"),
    ("/api/v1/billing/ledger", "get"),
    ("/api/v1/billing/ledger/{entry_id}", "get"),
    ("/api/v1/billing/payments", "get"),
    ("/api/v1/billing/payments/{payment_id}", "get"),
    ("/api/v1/billing/receipts/{number}", "get"),
    ("/api/v1/privacy/requests", "get"),
    ("/api/v1/privacy/requests/{request_id}", "get"),
    ("/api/v1/me", "get"),
    ("/api/v1/balance", "get"),
]


def test_every_operation_is_described_for_integrators_not_by_the_base_views_docstrings(db):
    schema = _schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            description = operation.get("description", "")
            assert "Base for" not in description and "required_permissions" not in description, (path, method)
    for path, method in NATIVE_OPERATIONS:
        assert schema["paths"][path][method].get("description"), (path, method)


def test_error_answers_and_rate_limit_headers_are_documented_with_the_shared_error_shape(db):
    schema = _schema()
    assert "ErrorResponse" in schema["components"]["schemas"]
    for path, method in NATIVE_OPERATIONS:
        responses = schema["paths"][path][method]["responses"]
        for code in ["400", "401", "403", "429"] + (["404"] if "{" in path else []):
            body = responses[code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method, code)
        assert "X-RateLimit-Remaining" in responses["200" if "200" in responses else min(responses)]["headers"]


def test_bounds_are_stated_and_provider_callbacks_are_not_documented(db):
    schema = _schema()
    assert not [path for path in schema["paths"] if "callbacks" in path]
    page_size = next(p for p in schema["paths"]["/api/v1/messages"]["get"]["parameters"] if p["name"] == "page_size")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 200)
    limit = next(p for p in schema["paths"]["/api/v1/billing/ledger"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)
