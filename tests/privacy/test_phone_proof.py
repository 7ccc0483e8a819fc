"""An account holder's own number: proven by SMS code in the privacy centre (even when it opted out of SMS: one
code, at their own request, recorded), or by staff on any open request with a note of how; then their export
includes the messages to it, erasure reaches them and an SMS objection works."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from billing.services import credits_grant_demo
from messaging.models import Message, MessageStatus
from messaging.services.providers import provider_seed_demo_chain
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError
from privacy.data.erasure_run import erasure_job_run
from privacy.data.export import export_download
from privacy.data.models import SuppressionException, SuppressionSource
from privacy.data.objections import recipient_is_suppressed, suppression_add
from privacy.requests import fulfilment, intake
from privacy.requests.models import PhoneProof, RequestChannel, RequestEvent, RequestKind, RequestStatus
from privacy.requests.phone_proof import phone_code_send, proven_phone_number, request_phone_prove_by_staff
from tests.privacy.data_helpers import make_message, private_root, unzip  # noqa: F401

pytestmark = [
    pytest.mark.django_db(databases=["default", "erasure_ledger"]),
    pytest.mark.usefixtures("private_root"),
]

NUMBER = "+639171230000"


@pytest.fixture
def officer():
    return User.objects.create_user(email="staff@operator.example", password="x" * 12, is_staff=True)


@pytest.fixture
def sms_route():
    provider_seed_demo_chain(simulator_url="http://127.0.0.1:9")
    credits_grant_demo(organization=intake.privacy_operator_organization(), amount=Decimal("100"))


def _code() -> str:
    message = Message._base_manager.filter(
        recipient_hash=phone_lookup_hash(NUMBER), organization__slug="operator"
    ).latest("id")
    return re.search(r"\b(\d{6})\b", message.delivery_body).group(1)


def _prove_in_the_centre(client, capture):
    with capture(execute=True):
        sent = client.post("/privacy/phone/", {"action": "send", "phone_number": "0917 123 0000"}, follow=True)
    assert "We sent a code" in sent.content.decode()
    confirmed = client.post(
        "/privacy/phone/", {"action": "confirm", "phone_number": NUMBER, "code": _code()}, follow=True
    )
    assert "Your number is proven" in confirmed.content.decode()


def _request(capture, user, kind, **extra):
    with capture(execute=True):
        dsr, _ = intake.request_submit(kind=kind, email="", channel=RequestChannel.PRIVACY_CENTRE, user=user, **extra)
    return dsr


def test_a_number_proven_in_the_centre_reaches_export_erasure_and_objection(
    sms_route,
    client_owner_a,
    owner_a,
    org_b,
    officer,
    django_capture_on_commit_callbacks,
):
    to_her = make_message(org_b, NUMBER, "Bravo: your appointment")
    access = _request(django_capture_on_commit_callbacks, owner_a, RequestKind.ACCESS)
    assert proven_phone_number(access) == ""  # the session proves the account, not a number

    _prove_in_the_centre(client_owner_a, django_capture_on_commit_callbacks)
    owner_a.refresh_from_db()
    assert owner_a.phone_number == NUMBER  # an empty profile number takes the proven one
    access.refresh_from_db()
    assert access.phone_number == NUMBER and proven_phone_number(access) == NUMBER
    assert RequestEvent.objects.filter(request=access, action="phone_proven").exists()
    assert "proven" in client_owner_a.get("/privacy/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_run_export(request=access, actor=officer)
    export.refresh_from_db()
    _, chunks = export_download(export_id=export.pk, token_or_user=owner_a, ip=None)
    assert b"Bravo: your appointment" in b"".join(unzip(b"".join(chunks)).values())

    objection = _request(django_capture_on_commit_callbacks, owner_a, RequestKind.OBJECT, objections=["sms"])
    fulfilment.request_apply_objections(request=objection, actor=officer)
    assert recipient_is_suppressed(phone_number=NUMBER)

    delete = _request(django_capture_on_commit_callbacks, owner_a, RequestKind.DELETE)
    job = fulfilment.request_run_erasure(request=delete, actor=officer)
    assert job.phone_number == NUMBER
    with django_capture_on_commit_callbacks(execute=True):
        erasure_job_run(job_id=job.pk, now=job.erase_after + timedelta(minutes=1))
    to_her.refresh_from_db()
    assert to_her.body == "" and to_her.recipient.startswith("h:")


def test_an_opted_out_number_gets_one_code_at_its_holders_request(
    sms_route, client_owner_a, owner_a, django_capture_on_commit_callbacks
):
    suppression_add(phone_number=NUMBER, source=SuppressionSource.STOP_REPLY)
    _prove_in_the_centre(client_owner_a, django_capture_on_commit_callbacks)
    code_message = Message._base_manager.filter(recipient_hash=phone_lookup_hash(NUMBER)).latest("id")
    assert code_message.status != MessageStatus.REJECTED  # the one code went through
    exception = SuppressionException.objects.get()
    assert exception.requested_by == owner_a and "asked for a proof code" in exception.reason
    proof = PhoneProof.objects.get(user=owner_a)
    assert proof.despite_opt_out and proof.method == "sms"

    again = client_owner_a.post("/privacy/phone/", {"action": "send", "phone_number": NUMBER}, follow=True)
    assert "already sent it one code today" in again.content.decode()
    # Everyone else's messages to the number are still refused, and so are the operator's once the code expired.
    assert recipient_is_suppressed(phone_number=NUMBER)
    SuppressionException.objects.update(expires_at=timezone.now())
    blocked = Message._base_manager.filter(recipient_hash=phone_lookup_hash(NUMBER)).count()
    with pytest.raises(ApplicationError):  # one code a day: no second exception, so no second code
        phone_code_send(user=owner_a, phone_number=NUMBER)
    assert (
        Message._base_manager.filter(recipient_hash=phone_lookup_hash(NUMBER))
        .exclude(status=MessageStatus.REJECTED)
        .count()
        <= blocked
    )


def test_staff_mark_a_number_proven_on_an_already_verified_request(officer, owner_a):
    dsr, _ = intake.request_submit(
        kind=RequestKind.DELETE, email="juan@example.com", channel=RequestChannel.PUBLIC_FORM, phone_number=NUMBER
    )
    intake.verify(dsr, note="E-mail link")
    assert dsr.status == RequestStatus.VERIFIED and proven_phone_number(dsr) == ""
    request_phone_prove_by_staff(request=dsr, actor=officer, note="Called back on the number; it is Juan's")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED  # no transition, no InvalidTransition
    assert proven_phone_number(dsr) == NUMBER
    proof = PhoneProof.objects.get(request=dsr)
    assert proof.method == "staff" and proof.proven_by == officer and "Called back" in proof.note


def test_the_admin_action_asks_how_the_number_was_checked(officer, client):
    officer.is_superuser = True
    officer.save()
    dsr, _ = intake.request_submit(
        kind=RequestKind.ACCESS, email="juan@example.com", channel=RequestChannel.PUBLIC_FORM, phone_number=NUMBER
    )
    intake.verify(dsr, note="E-mail link")
    client.force_login(officer)
    url = "/admin/privacy/datasubjectrequest/"
    form = client.post(url, {"action": "action_prove_phone", "_selected_action": [dsr.pk]})
    assert form.status_code == 200 and "How was the number checked?" in form.content.decode()
    client.post(
        url,
        {"action": "action_prove_phone", "_selected_action": [dsr.pk], "apply": "1", "reason": "Seen the SIM card"},
    )
    assert proven_phone_number(dsr) == NUMBER
