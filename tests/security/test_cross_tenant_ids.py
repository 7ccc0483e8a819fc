"""Every route that takes an id answers another organization's id exactly like a missing one.

The test walks the whole URL configuration (`get_resolver()`, recursively), so a new route is covered the day it is
added: an id-like parameter nobody knows how to fill fails here with its name, until a factory below builds another
organization's object for it (or the route is listed as public, with the reason).

Clients: a signed-in owner of organization A (session) and an API key of A. For each route, GET and POST with B's
id and with an id that does not exist must give the same status code and the same body shape.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import payment_record
from messaging.campaigns.services import campaign_create, template_create
from messaging.contacts.importing import pending_import_store
from messaging.contacts.services import contact_create, group_create, opt_out_add
from messaging.csv_import import bulk_send_upload
from messaging.models import Message, WebhookDelivery, WebhookEndpoint
from privacy.data.models import DataExport, SubjectKind
from tests.conftest import bearer_client
from tests.privacy.data_helpers import make_request

pytestmark = pytest.mark.django_db(databases=["default", "erasure_ledger"])

# A parameter is an id when its name says so, or when it is an integer in the path.
ID_NAME = re.compile(r"(^|_)(id|pk|uuid|number|token|key|signed|secret|uidb36)$")
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<regex_name>\w+)>[^)]*\)")

# Routes whose id is not an organization's object, with why they are out of this test.
PUBLIC_ROUTES = {
    "messaging.api.DeliveryCallbackAPI": "provider delivery receipts: the provider's secret in the path is the "
    "credential, checked per provider (tests/messaging), no organization is signed in",
    "privacy.requests.views.RequestVerifyEmailView": "the signed e-mail link is the credential (tests/privacy)",
    "privacy.requests.views.RequestStatusView": "the status link's token is the credential (tests/privacy)",
    "privacy.data.views.export_download_token_view": "the download link's token is the credential (tests/privacy)",
    "messaging.notice_views.notice_dismiss_view": "site notices are the operator's, shown to every organization "
    "they concern; dismissing one hides it for that person only (tests/messaging/test_notices_shown.py)",
    "privacy.views.policy_view": "policy versions are public documents, not an organization's",
    "privacy.views.policy_acknowledge_view": "policy versions are public documents, not an organization's",
    "accounts.views.InvitationAcceptView": "the invitation token is the credential (tests/accounts)",
    "allauth.account.views._email_verification.ConfirmEmailView": "allauth: the e-mailed key is the credential",
    "allauth.account.views._password_reset.PasswordResetFromKeyView": "allauth: the e-mailed key is the credential",
}
SKIPPED_PREFIXES = ("admin/",)  # staff only, every organization by design (admin tests)

MISSING_INT = "2000000000"
MISSING_STR = "missing0missing0missing0"


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.lookup_str


def parameters(route: str) -> list[tuple[str, str]]:
    found = []
    for match in PARAMETER.finditer(route):
        if match["regex_name"]:
            found.append((match["regex_name"], "regex"))
        else:
            found.append((match["name"], match["converter"] or "str"))
    return found


def id_parameters(route: str) -> list[str]:
    return [name for name, converter in parameters(route) if converter == "int" or ID_NAME.search(name)]


def build_path(route: str, values: dict[str, str]) -> str:
    def fill(match):
        return values[match["regex_name"] or match["name"]]

    path = PARAMETER.sub(fill, route)
    path = path.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return "/" + path


def routes_with_ids():
    for route, view in walk(get_resolver().url_patterns):
        if route.startswith(SKIPPED_PREFIXES) or view in PUBLIC_ROUTES:
            continue
        ids = id_parameters(route)
        if ids:
            yield route, view, ids


@pytest.fixture
def other_organization_ids(org_b, owner_b, tmp_path, settings):
    """One object of organization B (or of B's owner) for each id parameter the routes take."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    payment = payment_record(organization=org_b, actor=None, method="gcash", amount_php=Decimal("100.00"))
    message = Message.objects.create(
        organization=org_b,
        recipient="+639171234567",
        network="globe",
        body="hello",
        sender_name="BRAVO",
        encoding="GSM7",
        segments=1,
        channel="api",
    )
    endpoint = WebhookEndpoint.objects.create(organization=org_b, url="https://b.example/hook", secret="s" * 32)
    delivery = WebhookDelivery.objects.create(
        organization=org_b, endpoint=endpoint, payload={"event": "message.status"}, next_attempt_at=timezone.now()
    )
    upload = SimpleUploadedFile("numbers.csv", b"number,message\n09171234567,hello\n", content_type="text/csv")
    bulk = bulk_send_upload(organization=org_b, actor=owner_b, upload=upload, default_body="hello")
    export = DataExport.objects.create(subject_kind=SubjectKind.USER, user=owner_b, email=owner_b.email)
    contact = contact_create(organization=org_b, phone_number="09171234567", name="Bea")
    group = group_create(organization=org_b, name="Bravo group")
    contacts_upload = SimpleUploadedFile("contacts.csv", b"phone,name\n09171234567,Bea\n", content_type="text/csv")
    return {
        "contact_id": str(contact.pk),
        "group_id": str(group.pk),
        "opt_out_id": str(opt_out_add(organization=org_b, phone_number="09181234567").pk),
        "template_id": str(template_create(organization=org_b, name="Bravo", body="Hi {name}").pk),
        "campaign_id": str(campaign_create(organization=org_b, name="Bravo", group_ids=[group.pk], body="Hi").pk),
        "import_id": pending_import_store(organization=org_b, upload=contacts_upload).id,
        "message_id": str(message.pk),
        "payment_id": str(payment.pk),
        "entry_id": str(LedgerEntry.objects.filter(organization=org_b).values_list("pk", flat=True).first()),
        "number": payment.receipt.number,
        "delivery_id": str(delivery.pk),
        "bulk_id": bulk.id,
        "request_id": str(make_request(user=owner_b).pk),
        "export_id": str(export.pk),
    }


def shape(value):
    """The structure of a JSON body without its values (ids and messages differ; keys and types must not)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def answer(response, used: dict[str, str]) -> tuple:
    content_type = response.get("Content-Type", "").split(";")[0]
    body = response.content.decode(errors="replace")
    location = response.get("Location", "")
    for value in used.values():
        location = location.replace(value, "<id>")
    if content_type == "application/json" and body:
        parsed = json.loads(body)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        code = error.get("code") if isinstance(error, dict) else error
        return response.status_code, content_type, location, shape(parsed), code
    return response.status_code, content_type, location


def test_every_id_parameter_has_a_factory_or_a_reason(other_organization_ids):
    unknown = {
        f"{route} ({view}): {name}"
        for route, view, names in routes_with_ids()
        for name in names
        if name not in other_organization_ids
    }
    assert unknown == set(), "build another organization's object for these in other_organization_ids, or list the "
    "route in PUBLIC_ROUTES with the reason"


@pytest.mark.parametrize("credential", ["session", "api_key"])
def test_another_organizations_id_answers_like_a_missing_one(
    credential, client_owner_a, api_key_a, owner_a, other_organization_ids, client_owner_b
):
    client = client_owner_a if credential == "session" else bearer_client(api_key_a[1])
    differences, checked, b_sees_it = [], 0, 0
    for route, view, names in routes_with_ids():
        others = {name: other_organization_ids[name] for name in names}
        missing = {name: MISSING_INT if other.isdigit() else MISSING_STR for name, other in others.items()}
        other_path, missing_path = build_path(route, others), build_path(route, missing)
        for method in ("get", "post"):
            other_answer = answer(getattr(client, method)(other_path), others)
            missing_answer = answer(getattr(client, method)(missing_path), missing)
            checked += 1
            if other_answer != missing_answer:
                differences.append(f"{method.upper()} {route} ({view}): {other_answer} != {missing_answer}")
        if credential == "session" and answer(client_owner_b.get(other_path), others) != answer(
            client_owner_b.get(missing_path), missing
        ):
            b_sees_it += 1
    assert differences == []
    assert checked >= 20
    if credential == "session":
        # The objects are real: their own organization's owner gets an answer other than "missing" on many routes.
        assert b_sees_it >= 5
