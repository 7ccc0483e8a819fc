"""The privacy policy's "encrypted at rest": read the database itself (SQL, not the ORM) after messages were sent, a
privacy request was made and a number opted out, and find no message text, no number in any spelling and no
requester e-mail address; the application still reads and finds all of them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.services import credits_adjust
from messaging.models import (
    IdempotencyKey,
    Message,
    MessageStatus,
    OtpChallenge,
    Provider,
    WebhookDelivery,
    WebhookEndpoint,
)
from messaging.personal_data import PERSONAL_DATA
from messaging.representation import message_to_dict
from messaging.selectors import MessageFilters, message_list
from messaging.services.idempotency import idempotency_store
from messaging.services.otp import otp_send, otp_verify
from messaging.services.sending import message_send
from messaging.services.webhooks import webhook_events_record
from portal.crypto import email_lookup_hash, phone_lookup_hash
from portal.key_rotation import encrypt_plaintext_columns
from privacy.data.models import SuppressionSource
from privacy.data.objections import suppression_add
from privacy.data.subjects import Subject, finder_q
from privacy.requests.intake import request_submit
from privacy.requests.models import DataSubjectRequest, ReminderSent, RequestChannel, RequestEvent, RequestKind
from privacy.requests.reminders import requests_remind_unverified

BODY = "Your clinic appointment is on Friday at 3 pm"
NUMBERS = ["+639171234567", "+639181112233"]
OPTED_OUT = "+639195556677"
OTP_NUMBER = "+639204445566"
REQUESTER = "maria.requester@example.ph"
REQUESTER_NAME = "Maria Dalisay Requester"
DETAILS = "Please send me every message you hold about me"
CORRECTED_NAME = "Maria Clara Dalisay-Santos"
STAFF_NOTE = "Called Maria on her office line to confirm the spelling"


def spellings(e164: str) -> list[str]:
    """+63917..., 63917... and 0917...: any of them in a column is the number in clear."""
    return [e164, e164[1:], "0" + e164[3:]]


def raw_database_text() -> str:
    """Every value of every table, as the database returns it to plain SQL."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from the schema)
            for row in cursor.fetchall():
                chunks.append(" ".join(str(value) for value in row if value is not None))
    return "\n".join(chunks).lower()


@pytest.fixture
def provider(db):
    return Provider.objects.create(
        name="Simulated IPROG", adapter="iprog", base_url="http://127.0.0.1:9", sender_name="IPROGSMS"
    )


@pytest.mark.django_db(transaction=True)
def test_no_body_number_or_requester_address_in_clear(org_a, provider, django_capture_on_commit_callbacks):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test funds")
    suppression_add(phone_number="0" + OPTED_OUT[3:], source=SuppressionSource.STOP_REPLY)
    with django_capture_on_commit_callbacks():
        sent = message_send(organization=org_a, recipients=[*NUMBERS, OPTED_OUT], body=BODY, channel="api")
    request, _ = request_submit(
        kind=RequestKind.ACCESS,
        email=REQUESTER,
        channel=RequestChannel.PUBLIC_FORM,
        full_name=REQUESTER_NAME,
        phone_number=NUMBERS[0],
        details=DETAILS,
        verification_method="email",
    )
    correction, _ = request_submit(
        kind=RequestKind.UPDATE,
        email=REQUESTER,
        channel=RequestChannel.PUBLIC_FORM,
        full_name=REQUESTER_NAME,
        requested_changes={"full_name": CORRECTED_NAME},
        verification_method="email",
    )
    RequestEvent.objects.create(request=correction, action="note", actor_label="staff", note=STAFF_NOTE)
    with django_capture_on_commit_callbacks():
        assert requests_remind_unverified(now=timezone.now() + timedelta(hours=25)) == 2
    WebhookEndpoint.objects.create(organization=org_a, url="https://hooks.example.ph/sms", secret="s" * 32)
    with django_capture_on_commit_callbacks():
        assert webhook_events_record(messages=sent) == len(sent)
    with django_capture_on_commit_callbacks():
        challenge = otp_send(organization=org_a, phone_number="0" + OTP_NUMBER[3:], template="Code :otp")
    answer = {"results": [message_to_dict(message) for message in sent]}
    idempotency_store(organization=org_a, key="retry-1", request_hash="h" * 64, status=201, body=answer)

    dump = raw_database_text()
    numbers = [*NUMBERS, OPTED_OUT, OTP_NUMBER]
    needles = [
        BODY,
        REQUESTER,
        REQUESTER_NAME,
        DETAILS,
        CORRECTED_NAME,
        STAFF_NOTE,
        *[s for n in numbers for s in spellings(n)],
    ]
    assert sent and dump  # the dump did read the rows written above
    assert [needle for needle in needles if needle.lower() in dump] == []

    # The application still reads everything, and finds it by number and by address.
    sent_messages = Message.objects.for_organization(org_a).exclude(pk=challenge.message_id)
    by_number = {message.recipient: message for message in sent_messages}
    assert set(by_number) == {*NUMBERS, OPTED_OUT} and by_number[NUMBERS[0]].body == BODY
    assert by_number[OPTED_OUT].status == MessageStatus.REJECTED  # the suppression check on send still works
    found = message_list(organization=org_a, filters=MessageFilters(recipient="0" + NUMBERS[1][3:]))
    assert [message.recipient for message in found] == [NUMBERS[1]]
    stored = DataSubjectRequest.objects.get(email_hash=email_lookup_hash(REQUESTER.upper()), kind=RequestKind.ACCESS)
    assert stored.pk == request.pk and stored.full_name == REQUESTER_NAME and stored.details == DETAILS
    assert DataSubjectRequest.objects.filter(phone_hash=phone_lookup_hash(NUMBERS[0])).count() == 1
    assert DataSubjectRequest.objects.get(pk=correction.pk).requested_changes == {"full_name": CORRECTED_NAME}
    assert RequestEvent.objects.get(request=correction, action="note").note == STAFF_NOTE
    payloads = [delivery.payload for delivery in WebhookDelivery.objects.for_organization(org_a)]
    assert {payload["data"]["to"] for payload in payloads} >= set(NUMBERS)
    assert ReminderSent.objects.get(request=request, key="verify_24h").sent_to == [REQUESTER]
    stored_challenge = OtpChallenge.objects.for_organization(org_a).get(phone_hash=phone_lookup_hash(OTP_NUMBER))
    assert stored_challenge.pk == challenge.pk and stored_challenge.phone_number == OTP_NUMBER
    assert otp_verify(organization=org_a, phone_number=OTP_NUMBER[1:], code="not the code") is False
    assert OtpChallenge.objects.for_organization(org_a).get(pk=challenge.pk).attempts == 1  # found by the hash
    stored_answer = IdempotencyKey.objects.for_organization(org_a).get(key="retry-1")
    assert stored_answer.response_body == answer  # replayed as it was given
    # An erasure by number still finds the stored answer (through its numbers' lookup hashes), whatever the spelling.
    [declaration] = [entry for entry in PERSONAL_DATA if entry.model == "messaging.IdempotencyKey"]
    [finder] = declaration.finders
    for spelling in spellings(NUMBERS[1]):
        reached = IdempotencyKey.objects.unscoped().filter(
            finder_q(finder, Subject.build(user_id=None, phone=spelling))
        )
        assert list(reached) == [stored_answer]
    nobody = Subject.build(user_id=None, phone="+639990001111")
    assert not IdempotencyKey.objects.unscoped().filter(finder_q(finder, nobody)).exists()


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_encryption_are_encrypted_in_place(org_a):
    """What the data migration does to a table that held plaintext: encrypted, hashed, readable, run twice safely."""
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10.00"), reason="test funds")
    Provider.objects.create(name="Route", adapter="iprog", base_url="http://127.0.0.1:9", sender_name="IPROGSMS")
    [message] = message_send(organization=org_a, recipients=[NUMBERS[0]], body=BODY, channel="api")
    with connection.cursor() as cursor:  # as the row was before the migration: plaintext, no hash
        cursor.execute(
            "UPDATE messaging_message SET recipient = %s, body = %s, recipient_hash = '' WHERE id = %s",
            [NUMBERS[0], BODY, message.pk],
        )
    columns = {"table": "messaging_message", "columns": ["recipient", "body"]}
    hashes = {"recipient_hash": ("recipient", "lookup.phone")}
    assert encrypt_plaintext_columns(connection, **columns, hashes=hashes) == 1
    assert encrypt_plaintext_columns(connection, **columns, hashes=hashes) == 0  # already encrypted: skipped
    assert NUMBERS[0][1:] not in raw_database_text()
    message = Message.objects.for_organization(org_a).get(recipient_hash=phone_lookup_hash(NUMBERS[0]))
    assert message.recipient == NUMBERS[0] and message.body == BODY
