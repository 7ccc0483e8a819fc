"""Examples of the address-book API for the OpenAPI reference: the request an integrator makes (curl, with a key
from the API keys page) and the answer; and the descriptions of the operations whose summary says too little."""

from drf_spectacular.utils import OpenApiExample

from messaging.api_examples import AUTH, BASE, NOT_FOUND, answer, answer_to, request

CONTACT = {
    "id": 12,
    "phone_number": "+639171234567",
    "name": "Ana Cruz",
    "fields": {"city": "Cebu"},
    "tags": ["vip"],
    "created_at": "2026-11-29T23:30:00Z",
    "updated_at": "2026-11-29T23:30:00Z",
}
GROUP = {
    "id": 3,
    "name": "Customers",
    "description": "Everyone who bought this year",
    "member_count": 120,
    "created_at": "2026-11-29T23:31:00Z",
}
OPT_OUT = {
    "id": 5,
    "phone_number": "+639181234567",
    "reason": "Asked by phone",
    "created_at": "2026-11-29T23:32:00Z",
}

DESCRIPTIONS = {
    "contacts_get": "One contact of the address book; another organization's contact id answers 404.",
    "contacts_update": (
        "PATCH: each of `name`, `fields` and `tags` given replaces the old value; the number cannot change."
    ),
    "contacts_delete": "Deletes the contact and takes it out of its groups; messages already sent stay in the log.",
    "contact_groups_list": "The organization's contact groups with how many contacts each holds, newest first.",
    "contact_groups_create": "A named group of contacts that campaigns send to; 409 when the name is taken.",
    "contact_groups_get": "One group with its member count; another organization's group id answers 404.",
    "contact_groups_update": "Renames the group or changes its description; 409 when the new name is taken.",
    "contact_groups_delete": "Deletes the group; its contacts stay in the address book.",
    "opt_outs_list": "Numbers this organization does not send to (its own list), newest first.",
    "opt_outs_delete": "Takes the number off the organization's list: later messages to it are sent again.",
}

EXAMPLES: dict[str, list[OpenApiExample]] = {
    "contacts_list": [
        answer(
            "Contacts tagged vip",
            {"results": [CONTACT], "next": None, "next_cursor": None},
            curl=f'{AUTH} "{BASE}/contacts?tag=vip"',
        )
    ],
    "contacts_create": [
        request(
            "Add a contact",
            f"{AUTH} --json @contact.json {BASE}/contacts",
            {"phone_number": "09171234567", "name": "Ana Cruz", "fields": {"city": "Cebu"}, "tags": ["vip"]},
        ),
        answer("Added", CONTACT, status="201"),
    ],
    "contacts_get": [answer("One contact", CONTACT, curl=f"{AUTH} {BASE}/contacts/12")],
    "contacts_update": [
        request(
            "Change the tags",
            f'{AUTH} -X PATCH --json \'{{"tags": ["vip", "cebu"]}}\' {BASE}/contacts/12',
            {"tags": ["vip", "cebu"]},
        ),
        answer("Changed", {**CONTACT, "tags": ["vip", "cebu"]}),
    ],
    "contacts_delete": [
        answer_to(
            f"{AUTH} -X DELETE {BASE}/contacts/12",
            "Delete a contact: an unknown id answers 404",
            NOT_FOUND,
            status="404",
        ),
    ],
    "contacts_import": [
        OpenApiExample(
            "Import a CSV into a group",
            value={"mapping": '{"Mobile": "phone", "Full name": "name"}', "group": "Customers", "tags": "imported"},
            request_only=True,
            media_type="multipart/form-data",
            description=(
                f'`curl {AUTH} -F file=@contacts.csv -F \'mapping={{"Mobile": "phone", "Full name": "name"}}\' '
                f"-F group=Customers {BASE}/contacts/import`"
            ),
        ),
        answer(
            "Imported, one bad row",
            {
                "created": 118,
                "updated": 1,
                "duplicates_in_file": 0,
                "invalid": 1,
                "group_id": 3,
                "errors": [{"row": 7, "error": "Not a Philippine mobile number: 12345"}],
            },
        ),
    ],
    "contact_groups_list": [
        answer("Groups", {"results": [GROUP], "next": None, "next_cursor": None}, curl=f"{AUTH} {BASE}/contact-groups")
    ],
    "contact_groups_create": [
        request(
            "Create a group",
            f"{AUTH} --json @group.json {BASE}/contact-groups",
            {"name": "Customers", "description": "Everyone who bought this year"},
        ),
        answer("Created", {**GROUP, "member_count": 0}, status="201"),
    ],
    "contact_groups_get": [answer("One group", GROUP, curl=f"{AUTH} {BASE}/contact-groups/3")],
    "contact_groups_update": [
        request(
            "Rename a group",
            f'{AUTH} -X PATCH --json \'{{"name": "Buyers 2026"}}\' {BASE}/contact-groups/3',
            {"name": "Buyers 2026"},
        ),
        answer("Renamed", {**GROUP, "name": "Buyers 2026"}),
    ],
    "contact_groups_delete": [
        answer_to(
            f"{AUTH} -X DELETE {BASE}/contact-groups/3",
            "Delete a group: an unknown id answers 404",
            NOT_FOUND,
            status="404",
        ),
    ],
    "contact_groups_members": [
        request(
            "Add two contacts, remove one",
            f'{AUTH} --json \'{{"add": [12, 13], "remove": [7]}}\' {BASE}/contact-groups/3/members',
            {"add": [12, 13], "remove": [7]},
        ),
        answer("The group after the change", {**GROUP, "member_count": 121}),
    ],
    "opt_outs_list": [
        answer(
            "Numbers not to send to",
            {"results": [OPT_OUT], "next": None, "next_cursor": None},
            curl=f"{AUTH} {BASE}/opt-outs",
        )
    ],
    "opt_outs_create": [
        request(
            "Stop sending to a number",
            f'{AUTH} --json \'{{"phone_number": "09181234567", "reason": "Asked by phone"}}\' {BASE}/opt-outs',
            {"phone_number": "09181234567", "reason": "Asked by phone"},
        ),
        answer("Listed", OPT_OUT, status="201"),
    ],
    "opt_outs_delete": [
        answer_to(
            f"{AUTH} -X DELETE {BASE}/opt-outs/5",
            "Send to the number again: an unknown id answers 404",
            NOT_FOUND,
            status="404",
        ),
    ],
}
