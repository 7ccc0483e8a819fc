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


def _examples(content: dict) -> dict:
    return {name: example for media in content.values() for name, example in media.get("examples", {}).items()}


def test_every_operation_has_a_description_an_example_request_and_an_example_answer(db):
    schema = _schema()
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) >= len(NATIVE_OPERATIONS)
    for path, method, operation in operations:
        assert len(operation.get("description", "")) >= 30, (path, method)
        answers = {}
        for code, response in operation["responses"].items():
            shown = _examples(response.get("content", {}))
            # A success with a body shows one; a 204 shows its error answer instead.
            assert shown or not (code.startswith("2") and response.get("content")), (path, method, code)
            answers.update(shown)
        assert answers, (path, method, "no example answer")
        body = operation.get("requestBody")
        if body is not None:
            requests_shown = _examples(body.get("content", {}))
            assert requests_shown, (path, method, "no example request")
            assert all("value" in example for example in requests_shown.values()), (path, method)
            shown = " ".join(example.get("description", "") for example in requests_shown.values())
        else:
            # No body: the answer's example says how to ask.
            shown = " ".join(example.get("description", "") for example in answers.values())
        prefix = path.split("{")[0].rstrip("/")
        assert "curl" in shown and prefix in shown.replace("https://sms.example.com", ""), (path, method, shown)
