"""Examples of the privacy-request API for the OpenAPI reference. These endpoints serve the signed-in person (a
browser session with its CSRF token), never an API key: the examples show the calls an app in the browser makes."""

from drf_spectacular.utils import OpenApiExample

BASE = "https://sms.example.com/api/v1"
SESSION = '-b "sessionid=$SESSION" -H "X-CSRFToken: $CSRF"'

REQUEST = {
    "id": 12,
    "reference": "PR-2026-0012",
    "kind": "access",
    "status": "submitted",
    "details": "A copy of everything you hold about me.",
    "requested_changes": {},
    "objections": [],
    "received_at": "2026-11-29T23:40:00Z",
    "first_response_due_at": "2026-12-14T23:40:00Z",
    "due_at": "2026-12-29T23:40:00Z",
    "days_left": 30,
    "band": "on_track",
    "extended": False,
    "extension_reason": "",
    "rejection_reason": "",
    "resolution_note": "",
    "closed_at": None,
}

EXAMPLES: dict[str, list[OpenApiExample]] = {
    "privacy_requests_list": [
        OpenApiExample(
            "My requests",
            value={"results": [REQUEST], "next": None},
            response_only=True,
            status_codes=["200"],
            description=f"Request: `curl {SESSION} {BASE}/privacy/requests`",
        )
    ],
    "privacy_requests_create": [
        OpenApiExample(
            "Ask for a copy of my data",
            value={"kind": "access", "details": "A copy of everything you hold about me."},
            request_only=True,
            description=f"`curl {SESSION} --json @request.json {BASE}/privacy/requests`",
        ),
        OpenApiExample("Received", value=REQUEST, response_only=True, status_codes=["201"]),
    ],
    "privacy_requests_retrieve": [
        OpenApiExample(
            "One request",
            value=REQUEST,
            response_only=True,
            status_codes=["200"],
            description=f"Request: `curl {SESSION} {BASE}/privacy/requests/12`",
        )
    ],
}
