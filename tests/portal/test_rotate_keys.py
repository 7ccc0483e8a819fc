"""`manage.py rotate_keys`: prepend a new key, rotate, drop the old key, and everything still reads back; a second
run (or a run resumed after a stop) changes nothing already under the newest key."""

import base64
import os
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from billing.services import credits_adjust
from messaging.contacts.importing import pending_import_get, pending_import_store
from messaging.models import Message, OtpChallenge, Provider, WebhookDelivery, WebhookEndpoint
from messaging.services.otp import otp_send
from messaging.services.sending import message_send
from messaging.services.webhooks import webhook_events_record
from portal.crypto import newest_key_id
from portal.encrypted_files import EncryptedChunkWriter, decrypt_stream, encrypted_file_is_current, open_private
from portal.key_rotation import rotate_keys
from privacy.requests.intake import request_submit
from privacy.requests.models import DataSubjectRequest, ReminderSent, RequestChannel, RequestKind

OLD_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
BODY = "Rotation keeps this text readable"


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (fixed names)
        return cursor.fetchone()[0]


@pytest.fixture
def old_data(settings, tmp_path, org_a):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10.00"), reason="test funds")
    provider = Provider.objects.create(
        name="Route",
        adapter="iprog",
        base_url="http://127.0.0.1:9",
        sender_name="IPROGSMS",
        credentials='{"api_token": "secret-token"}',  # Fernet column
    )
    messages = message_send(organization=org_a, recipients=["09171234567", "09181112233"], body=BODY, channel="api")
    request, _ = request_submit(
        kind=RequestKind.ACCESS,
        email="rotate@example.ph",
        channel=RequestChannel.PUBLIC_FORM,
        full_name="Rosa Rotate",
        details="Everything",
        verification_method="email",
    )
    (tmp_path / "bulk-sends").mkdir()
    file_path = tmp_path / "bulk-sends" / "upload.csv"
    with open_private(file_path) as handle:
        writer = EncryptedChunkWriter(handle, chunk_size=16)
        writer.write(b"number\n09171234567\n09181112233\n")
        writer.close()
    return provider, messages, request, file_path


def test_rotate_then_drop_the_old_key_and_read_everything_back(settings, old_data):
    provider, messages, request, file_path = old_data
    old_id = newest_key_id()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert raw("messaging_message", "body", messages[0].pk).startswith(f"g1:{old_id}:")

    out = StringIO()
    call_command("rotate_keys", "--batch-size", "1", stdout=out)  # one row per batch: the batching is exercised
    assert "re-encrypted under the newest key" in out.getvalue()
    assert raw("messaging_message", "body", messages[0].pk).startswith(f"g1:{newest_key_id()}:")
    assert encrypted_file_is_current(file_path) and oct(os.stat(file_path).st_mode & 0o777) == "0o600"

    again = rotate_keys()  # resumed or repeated: nothing left to do
    assert again.rows_rotated == 0 and again.files_rotated == 0 and again.rows_checked > 0

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert Provider.objects.get(pk=provider.pk).credentials == '{"api_token": "secret-token"}'
    for message in Message.objects.unscoped().filter(pk__in=[m.pk for m in messages]):
        assert message.body == BODY and message.recipient in {"+639171234567", "+639181112233"}
    stored = DataSubjectRequest.objects.get(pk=request.pk)
    assert (stored.email, stored.full_name, stored.details) == ("rotate@example.ph", "Rosa Rotate", "Everything")
    assert stored.messages.first().recipients == ["rotate@example.ph"]
    assert b"".join(decrypt_stream(file_path)) == b"number\n09171234567\n09181112233\n"


def test_without_the_old_key_unrotated_values_do_not_read(settings, old_data):
    _, messages, _, _ = old_data
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(ValueError, match="Cannot decrypt"):
        Message.objects.unscoped().get(pk=messages[0].pk)


CONTACTS_CSV = b"name,phone\nAna Cruz,09171234567\n"


def test_a_pending_contact_import_is_private_encrypted_and_rotated(settings, old_data, org_a):
    pending = pending_import_store(
        organization=org_a, upload=SimpleUploadedFile("contacts.csv", CONTACTS_CSV, content_type="text/csv")
    )
    [path] = (settings.PRIVATE_STORAGE_ROOT / "contact-imports").glob("*/*.csv.enc")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert b"09171234567" not in path.read_bytes() and b"Ana Cruz" not in path.read_bytes()

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert not encrypted_file_is_current(path)
    assert rotate_keys().files_rotated == 2  # the contact upload and the bulk upload
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert encrypted_file_is_current(path) and oct(os.stat(path).st_mode & 0o777) == "0o600"
    _, data = pending_import_get(organization=org_a, import_id=pending.id)
    assert data == CONTACTS_CSV


def test_otp_numbers_webhook_payloads_and_reminder_recipients_are_rotated(settings, old_data, org_a):
    _, messages, request, _ = old_data
    challenge = otp_send(organization=org_a, phone_number="09204445566", template="Code :otp")
    WebhookEndpoint.objects.create(organization=org_a, url="https://hooks.example.ph/sms", secret="s" * 32)
    webhook_events_record(messages=messages)
    reminder = ReminderSent.objects.create(request=request, key="verify_24h", sent_to=["rotate@example.ph"])
    old_id = newest_key_id()
    delivery = WebhookDelivery.objects.for_organization(org_a).first()
    columns = [
        ("messaging_otpchallenge", "phone_number", challenge.pk),
        ("messaging_webhookdelivery", "payload", delivery.pk),
        ("privacy_remindersent", "sent_to", reminder.pk),
    ]
    assert all(raw(table, column, pk).startswith(f"g1:{old_id}:") for table, column, pk in columns)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    report = rotate_keys()
    for label in (
        "messaging.OtpChallenge.phone_number",
        "messaging.WebhookDelivery.payload",
        "privacy.ReminderSent.sent_to",
    ):
        assert report.per_column[label] >= 1
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert all(raw(table, column, pk).startswith(f"g1:{newest_key_id()}:") for table, column, pk in columns)
    assert OtpChallenge.objects.for_organization(org_a).get(pk=challenge.pk).phone_number == "+639204445566"
    assert WebhookDelivery.objects.for_organization(org_a).get(pk=delivery.pk).payload["data"]["body"] == BODY
    assert ReminderSent.objects.get(pk=reminder.pk).sent_to == ["rotate@example.ph"]
