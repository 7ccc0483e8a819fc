"""Examples of the template and campaign API for the OpenAPI reference: the request an integrator makes (curl, with
a key from the API keys page) and the answer; and the descriptions of the operations whose summary says too little."""

from drf_spectacular.utils import OpenApiExample

from messaging.api_examples import AUTH, BASE, NOT_FOUND, answer, answer_to, request

TEMPLATE = {
    "id": 4,
    "name": "Reminder",
    "body": "Hi {name}, see you on {date}!",
    "created_at": "2026-11-29T23:40:00Z",
    "updated_at": "2026-11-29T23:40:00Z",
}
COUNTS = {
    "queued": 0,
    "sending": 0,
    "sent": 118,
    "delivered": 0,
    "failed": 1,
    "expired": 0,
    "rejected": 1,
    "cancelled": 0,
}
CAMPAIGN = {
    "id": 8,
    "name": "November sale",
    "source": "groups",
    "status": "sending",
    "body": "Hi {name}! 20% off today.",
    "template_id": None,
    "group_ids": [3],
    "sender_name": "ACME",
    "send_at": None,
    "send_to_duplicates": False,
    "recipients_total": 120,
    "duplicates_skipped": 2,
    "merge_errors": 0,
    "error_message": "",
    "counts": COUNTS,
    "progress_percent": 100,
    "created_at": "2026-11-29T23:41:00Z",
    "confirmed_at": "2026-11-29T23:45:00Z",
    "cancelled_at": None,
}
DRAFT = {
    **CAMPAIGN,
    "status": "draft",
    "confirmed_at": None,
    "counts": dict.fromkeys(COUNTS, 0),
    "progress_percent": 0,
}

DESCRIPTIONS = {
    "templates_list": "Saved texts with merge fields in braces (`{name}`, any contact field), newest first.",
    "templates_get": "One saved text; another organization's template id answers 404.",
    "templates_update": "Replaces both the name and the text; campaigns already composed keep their own copy.",
    "templates_delete": "Deletes the template; campaigns that used it keep their text.",
    "campaigns_list": (
        "The organization's campaigns, newest first, each with its messages counted per status (every status, "
        "zeros included) and how far sending has gone."
    ),
}

EXAMPLES: dict[str, list[OpenApiExample]] = {
    "templates_list": [
        answer(
            "Saved templates",
            {"results": [TEMPLATE], "next": None, "next_cursor": None},
            curl=f"{AUTH} {BASE}/templates",
        )
    ],
    "templates_create": [
        request(
            "Save a template",
            f"{AUTH} --json @template.json {BASE}/templates",
            {"name": "Reminder", "body": "Hi {name}, see you on {date}!"},
        ),
        answer("Saved", TEMPLATE, status="201"),
    ],
    "templates_get": [answer("One template", TEMPLATE, curl=f"{AUTH} {BASE}/templates/4")],
    "templates_update": [
        request(
            "Change the text",
            f"{AUTH} -X PUT --json @template.json {BASE}/templates/4",
            {"name": "Reminder", "body": "Hi {name}, see you on {date} at {time}!"},
        ),
        answer("Changed", {**TEMPLATE, "body": "Hi {name}, see you on {date} at {time}!"}),
    ],
    "templates_delete": [
        answer_to(
            f"{AUTH} -X DELETE {BASE}/templates/4",
            "Delete a template: an unknown id answers 404",
            NOT_FOUND,
            status="404",
        ),
    ],
    "campaigns_list": [
        answer(
            "Campaigns and their progress",
            {"results": [CAMPAIGN], "next": None, "next_cursor": None},
            curl=f"{AUTH} {BASE}/campaigns",
        )
    ],
    "campaigns_create": [
        request(
            "Compose a campaign to one group",
            f"{AUTH} --json @campaign.json {BASE}/campaigns",
            {"name": "November sale", "group_ids": [3], "body": "Hi {name}! 20% off today.", "sender_name": "ACME"},
        ),
        answer("A draft", DRAFT, status="201"),
    ],
    "campaigns_get": [answer("A campaign being sent", CAMPAIGN, curl=f"{AUTH} {BASE}/campaigns/8")],
    "campaigns_preview": [
        answer(
            "Two rows of a draft's preview",
            {
                "total": 122,
                "sendable": 120,
                "duplicates": 2,
                "duplicate_occurrences": 4,
                "merge_errors": 0,
                "opted_out": 0,
                "segments_total": 120,
                "price_total": "120.00",
                "rows": [
                    {
                        "position": 1,
                        "contact_id": 12,
                        "to": "+639171234567",
                        "name": "Ana Cruz",
                        "text": "Hi Ana Cruz! 20% off today.",
                        "segments": 1,
                        "price": "1.00",
                        "error": "",
                        "duplicate": False,
                        "opted_out": False,
                    },
                    {
                        "position": 2,
                        "contact_id": 13,
                        "to": "+639181234567",
                        "name": "Ben Santos",
                        "text": "Hi Ben Santos! 20% off today.",
                        "segments": 1,
                        "price": "1.00",
                        "error": "",
                        "duplicate": True,
                        "opted_out": False,
                    },
                ],
            },
            curl=f'{AUTH} "{BASE}/campaigns/8/preview?rows=2"',
        )
    ],
    "campaigns_confirm": [
        request(
            "Confirm the draft",
            f"{AUTH} --json '{{\"send_to_duplicates\": false}}' {BASE}/campaigns/8/confirm",
            {"send_to_duplicates": False},
        ),
        answer(
            "Confirmed; messages are being created",
            {**DRAFT, "status": "sending", "confirmed_at": "2026-11-29T23:45:00Z"},
            status="202",
        ),
    ],
    "campaigns_cancel": [
        answer_to(
            f"{AUTH} -X POST {BASE}/campaigns/9/cancel",
            "Cancelled",
            {
                **DRAFT,
                "id": 9,
                "status": "cancelled",
                "send_at": "2026-12-01T01:00:00Z",
                "cancelled_at": "2026-11-29T23:50:00Z",
            },
        ),
    ],
}
