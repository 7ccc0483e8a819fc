"""The OpenAPI schema is built from the code: it must build without a warning, so the docs never drift silently."""

from io import StringIO

from django.core.management import call_command


def test_the_schema_builds_without_warnings_and_documents_bearer_keys(db):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    schema = out.getvalue()
    assert '"scheme": "bearer"' in schema
    for path in ["/api/v1/me", "/api/v1/messages", "/api/v1/balance", "/api/v1/notices", "/api/v1/privacy/requests"]:
        assert f'"{path}"' in schema, path
