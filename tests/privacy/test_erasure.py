"""Erasure: two steps (mark, then erase after the grace period), one task per area, no trace left, billing kept and
balanced, failures retried and shown, legal holds respected, erasures re-applied after a restore."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.db import connection, models
from django.test import Client
from django.utils import timezone

from accounts.models import APIKey, Invitation, LoginRecord, Organization, OrganizationStatus, User
from billing.models import LedgerEntry, Receipt
from billing.selectors import billing_audit_differences
from billing.services import credits_adjust, payment_record
from messaging.models import (
    DispatchAttempt,
    Message,
    Provider,
    WebhookDelivery,
    WebhookEndpoint,
)
from messaging.services.idempotency import idempotency_store
from portal.crypto import EncryptedTextField, phone_lookup_hash
from portal.personal_data import ErasureArea
from privacy.data import erasure_areas as erasure_module
from privacy.data.erasure import erasure_job_cancel, erasure_job_create, erasure_tasks_retry
from privacy.data.erasure_run import erasure_job_run, erasures_run_due
from privacy.data.export_archive import export_build, export_path
from privacy.data.legal_holds import legal_hold_place, legal_hold_release
from privacy.data.models import (
    DataExport,
    ErasureJob,
    ErasureLedgerEntry,
    ErasureStatus,
    ErasureTask,
    ErasureTaskStatus,
    SubjectKind,
    SuppressionSource,
)
from privacy.data.objections import recipient_is_suppressed, suppression_add
from privacy.requests.fulfilment import erasure_mark
from privacy.requests.models import FulfilmentStep, RequestKind, RequestStatus
from tests.privacy.data_helpers import (
    ALICE_PHONE,
    BOB_PHONE,
    RECIPIENT_PHONE,
    make_login,
    make_message,
    make_request,
    populate_person,
    private_root,  # noqa: F401  (fixture)
)

pytestmark = [
    pytest.mark.django_db(databases=["default", "erasure_ledger"]),
    pytest.mark.usefixtures("private_root"),
]

LATER = timedelta(hours=25)


def traces(*needles: str) -> list[str]:
    """Every (model.field, row) in the whole database whose text, e-mail, JSON or encrypted value holds a
    needle."""
    needles = [n.lower() for n in needles if n]
    found = []
    for model in apps.get_models():
        text_fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField | models.GenericIPAddressField)
        ]
        if not text_fields:
            continue
        for row in model._base_manager.values_list("pk", *[f.attname for f in text_fields]).iterator():
            for field, value in zip(text_fields, row[1:], strict=True):
                text = str(value).lower()
                if any(needle in text for needle in needles):
                    found.append(f"{model._meta.label}.{field.name} #{row[0]}: {value!r}"[:200])
    return found


def _phone_needles(phone: str) -> list[str]:
    return [phone, phone[1:], "0" + phone[3:]]


def _run_all(now, django_capture_on_commit_callbacks):
    """Run due erasures twice, letting e-mails go out in between (the privacy area waits for the last
    e-mail)."""
    with django_capture_on_commit_callbacks(execute=True):
        erasures_run_due(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        erasures_run_due(now=now + timedelta(minutes=10))


@pytest.fixture
def provider(db):
    return Provider.objects.create(
        name="Route 1",
        adapter="iprog",
        base_url="http://127.0.0.1:9",
        sender_name="IPROGSMS",
        callback_secret="s" * 32,
    )


@pytest.fixture
def alice(org_a, org_b, owner_a, developer_a, provider, django_capture_on_commit_callbacks):
    """owner_a, given a phone and a life: messages, logins, billing, a session, an export, webhooks,
    invitations."""
    owner_a.phone_number = ALICE_PHONE
    owner_a.save()
    populate_person(owner_a, org_a, org_b)
    LoginRecord.objects.create(user=None, email_attempted=owner_a.email.upper(), succeeded=False, ip_address="10.0.0.1")
    Invitation.objects.create(
        organization=org_b,
        email=owner_a.email,
        token_hash="t" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    credits_adjust(organization=org_a, actor=owner_a, amount=Decimal("50.00"), reason="goodwill")
    payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal("500.00"), reference="GC-1")
    APIKey.objects.create(
        organization=org_a, name="Alice's key", prefix="sk_live_alice", key_hash="k" * 64, created_by=owner_a
    )
    message = (
        Message.objects.unscoped().filter(recipient_hash=phone_lookup_hash(ALICE_PHONE), organization=org_a).first()
    )
    DispatchAttempt.objects.create(
        message=message, provider=provider, attempt_number=1, error_message=f"Invalid number {ALICE_PHONE}"
    )
    endpoint = WebhookEndpoint.objects.create(organization=org_a, url="https://hooks.example/x", secret="w")
    WebhookDelivery.objects.create(
        organization=org_a,
        endpoint=endpoint,
        message=message,
        payload={"recipient": ALICE_PHONE, "status": "sent"},
    )
    # A stored idempotent answer names her number (encrypted; found through its numbers' lookup hashes).
    idempotency_store(
        organization=org_a,
        key="k1",
        request_hash="r" * 64,
        status=201,
        body={"results": [{"id": message.pk, "to": ALICE_PHONE, "status": "sent"}]},
    )
    client = Client()
    client.force_login(owner_a)
    export = DataExport.objects.create(subject_kind=SubjectKind.USER, user=owner_a, email=owner_a.email)
    with django_capture_on_commit_callbacks(execute=True):
        export_build(export_id=export.pk)
    export.refresh_from_db()
    owner_a.export_file = export_path(export)
    return owner_a


def test_erasure_leaves_no_trace_and_billing_still_balances(
    alice, org_a, org_b, developer_a, django_capture_on_commit_callbacks
):
    email = alice.email
    assert traces(email) and traces(*_phone_needles(ALICE_PHONE))  # the scan does find her before
    assert Session.objects.count() == 1 and alice.export_file.exists()
    ledger_before = list(LedgerEntry.objects.unscoped().order_by("id").values_list("id", "amount", "balance_after"))
    org_b_messages = Message.objects.unscoped().filter(organization=org_b).count()
    colleague_login = make_login(developer_a)
    request = make_request(
        kind=RequestKind.DELETE,
        user=alice,
        full_name="Alice Santos",
        phone_number=ALICE_PHONE,
        verification_method="sms",  # her number is proven: messages to it are hers too
    )

    job = erasure_mark(request=request)
    assert job.status == ErasureStatus.SCHEDULED
    assert job.erase_after - timezone.now() > timedelta(hours=23)
    assert sorted(job.tasks.values_list("area", flat=True)) == sorted(ErasureArea.values)
    with connection.cursor() as cursor:  # identifiers are encrypted at rest
        cursor.execute("SELECT email, phone_number FROM privacy_erasurejob WHERE id = %s", [job.pk])
        raw = " ".join(cursor.fetchone())
    assert ALICE_PHONE not in raw and email not in raw and raw

    erasures_run_due()  # within the grace period: nothing happens
    assert User.objects.get(pk=alice.pk).email == email

    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.DONE, list(job.tasks.values("area", "status", "last_error"))
    assert job.email == "" and job.phone_number == ""

    assert traces(email) == []
    assert traces(*_phone_needles(ALICE_PHONE)) == []
    assert traces("Alice Santos") == []

    user = User.objects.get(pk=alice.pk)
    assert not user.is_active and not user.has_usable_password() and user.full_name == ""
    assert Session.objects.count() == 0 and not alice.export_file.exists()
    assert Organization.objects.get(pk=org_a.pk).status == OrganizationStatus.CLOSED  # she solely owned it
    assert not APIKey.objects.unscoped().filter(organization=org_a, revoked_at__isnull=True).exists()
    assert Organization.objects.get(pk=org_b.pk).status == OrganizationStatus.ACTIVE
    assert Message.objects.unscoped().filter(organization=org_b).count() == org_b_messages  # masked, not deleted
    assert not any("Clinic appointment" in body for body in Message.objects.unscoped().values_list("body", flat=True))
    assert LoginRecord.objects.filter(pk=colleague_login.pk).exists()  # nobody else's data touched

    # Billing: every entry kept with its amount; the chain and the balances still agree.
    assert (
        list(LedgerEntry.objects.unscoped().order_by("id").values_list("id", "amount", "balance_after"))
        == ledger_before
    )
    assert not LedgerEntry.objects.unscoped().filter(actor=alice.pk).exists()
    assert Receipt.objects.unscoped().filter(organization=org_a).exists()
    assert billing_audit_differences() == []
    out = StringIO()
    call_command("billing_audit", stdout=out)

    tasks = {t.area: t for t in job.tasks.all()}
    assert all(t.status == ErasureTaskStatus.DONE for t in tasks.values())
    assert tasks[ErasureArea.MESSAGES].rows_changed >= 4 and tasks[ErasureArea.ACCOUNTS].rows_changed >= 3
    ledger = ErasureLedgerEntry.objects.get()
    assert len(ledger.email_hash) == 64 and len(ledger.phone_hash) == 64
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert FulfilmentStep.objects.get(request=request, step="erasure").status == "succeeded"
    completion = [m for m in mail.outbox if "complete" in m.subject.lower()]
    assert completion and completion[0].to == [email]  # told before the address was erased


def test_an_unproven_profile_number_erases_nobody_elses_messages(alice, org_b, django_capture_on_commit_callbacks):
    # Alice's profile says RECIPIENT_PHONE (anyone can type any number there); her request was verified by her
    # session only, so Bravo's messages to that number are not hers to erase.
    User.objects.filter(pk=alice.pk).update(phone_number=RECIPIENT_PHONE)
    alice.refresh_from_db()
    kept = make_message(org_b, RECIPIENT_PHONE, "Bravo: for the real holder of the number")
    job = erasure_mark(request=make_request(kind=RequestKind.DELETE, user=alice, phone_number=RECIPIENT_PHONE))
    assert job.phone_number == ""
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.DONE
    kept.refresh_from_db()
    assert kept.body == "Bravo: for the real holder of the number" and kept.recipient == RECIPIENT_PHONE
    assert User.objects.get(pk=alice.pk).phone_number == ""  # her own profile is erased


def test_a_recipient_is_erased_in_every_organization(org_a, org_b, django_capture_on_commit_callbacks):
    make_message(org_a, RECIPIENT_PHONE, "Alpha: parcel for Juan dela Cruz")
    make_message(org_b, "09175550101", "Bravo: appointment")
    other = make_message(org_b, BOB_PHONE, "Bravo: for Bob")
    suppression_add(phone_number=RECIPIENT_PHONE, source=SuppressionSource.STOP_REPLY)
    job = erasure_job_create(subject_kind=SubjectKind.RECIPIENT, phone_number=RECIPIENT_PHONE)
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.DONE
    assert traces(*_phone_needles(RECIPIENT_PHONE)) == []
    erased = Message.objects.unscoped().exclude(pk=other.pk)
    assert erased.count() == 2 and set(erased.values_list("body", flat=True)) == {""}
    pseudonyms = set(erased.values_list("recipient", flat=True))
    assert len(pseudonyms) == 1 and next(iter(pseudonyms)).startswith("h:")  # counts per number survive
    assert Message.objects.unscoped().get(pk=other.pk).body == "Bravo: for Bob"
    assert recipient_is_suppressed(phone_number=RECIPIENT_PHONE)  # "do not send" outlives the erasure


def test_a_failing_area_is_retried_with_backoff_shown_and_staff_alerted(
    alice, admin_client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.PRIVACY_ERASURE_MAX_ATTEMPTS = 2
    request = make_request(kind=RequestKind.DELETE, user=alice, phone_number=ALICE_PHONE, verification_method="sms")
    job = erasure_mark(request=request)
    real_apply = erasure_module.apply_finder

    def broken_messages(entry, finder, subject):
        if entry.area == ErasureArea.MESSAGES:
            raise RuntimeError(f"connection reset while erasing {subject.phone}")
        return real_apply(entry, finder, subject)

    monkeypatch.setattr(erasure_module, "apply_finder", broken_messages)
    now = timezone.now() + LATER
    erasure_job_run(job_id=job.pk, now=now)
    messages_task = ErasureTask.objects.get(job=job, area=ErasureArea.MESSAGES)
    assert messages_task.status == ErasureTaskStatus.RETRYING and messages_task.attempts == 1
    assert "connection reset" in messages_task.last_error and ALICE_PHONE not in messages_task.last_error
    assert messages_task.next_attempt_at > now
    # The other areas went ahead; the privacy area waits; the messages area's data is untouched (all or nothing).
    assert ErasureTask.objects.get(job=job, area=ErasureArea.LOGS).status == ErasureTaskStatus.DONE
    assert ErasureTask.objects.get(job=job, area=ErasureArea.PRIVACY).status == ErasureTaskStatus.PENDING
    assert Message.objects.unscoped().filter(recipient_hash=phone_lookup_hash(ALICE_PHONE)).exists()

    erasure_job_run(job_id=job.pk, now=now + timedelta(seconds=30))  # before the backoff: not retried
    assert ErasureTask.objects.get(pk=messages_task.pk).attempts == 1
    with django_capture_on_commit_callbacks(execute=True):
        erasure_job_run(job_id=job.pk, now=now + timedelta(hours=1))
    messages_task.refresh_from_db()
    job.refresh_from_db()
    assert messages_task.status == ErasureTaskStatus.FAILED and messages_task.attempts == 2
    assert job.status == ErasureStatus.FAILED
    alert = [m for m in mail.outbox if "messages area failed" in m.subject]
    assert alert and settings.OPS_ALERT_EMAILS[0] in alert[0].to and ALICE_PHONE not in alert[0].body
    assert FulfilmentStep.objects.get(request=request, step="erasure").status == "failed"

    response = admin_client.get("/admin/privacy/erasurejob/")
    assert response.status_code == 200 and b"messages (failed)" in response.content
    response = admin_client.get(f"/admin/privacy/erasurejob/{job.pk}/change/")
    assert response.status_code == 200 and b"connection reset" in response.content

    monkeypatch.undo()  # staff fixed the cause
    with django_capture_on_commit_callbacks(execute=True):
        erasure_tasks_retry(job=job, actor=None)
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.DONE
    assert not Message.objects.unscoped().filter(recipient_hash=phone_lookup_hash(ALICE_PHONE)).exists()
    assert traces(*_phone_needles(ALICE_PHONE)) == []


def test_a_legal_hold_stops_the_erasure_until_released(alice, org_a, org_b, django_capture_on_commit_callbacks):
    email = alice.email
    hold = legal_hold_place(reason="Subpoena 2026-114 (Makati RTC)", actor=None, email=email)
    assert email not in hold.subject_hash
    job = erasure_job_create(subject_kind=SubjectKind.USER, user=alice, phone_number=ALICE_PHONE)
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.ON_HOLD
    assert set(job.tasks.values_list("status", flat=True)) == {ErasureTaskStatus.ON_HOLD}
    assert User.objects.get(pk=alice.pk).email == email and traces(email)

    legal_hold_release(hold=hold, actor=None)
    org_hold = legal_hold_place(reason="Tax audit of Bravo", actor=None, organization=org_b)
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.ON_HOLD  # she received messages from Bravo, which is under a hold

    legal_hold_release(hold=org_hold, actor=None)
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ErasureStatus.DONE and traces(email) == []


def test_replay_erasures_after_a_backup_restore(alice, org_b, django_capture_on_commit_callbacks):
    email, user_id = alice.email, alice.pk
    job = erasure_job_create(subject_kind=SubjectKind.USER, user=alice, phone_number=ALICE_PHONE)
    _run_all(timezone.now() + LATER, django_capture_on_commit_callbacks)
    assert ErasureJob.objects.get(pk=job.pk).status == ErasureStatus.DONE

    # "Restore" last night's backup: the person is back.
    User.objects.filter(pk=user_id).update(email=email, full_name="Alice Santos", phone_number=ALICE_PHONE)
    make_login(User.objects.get(pk=user_id))
    make_message(org_b, ALICE_PHONE, "Restored message to Alice")
    assert traces(email) and traces(ALICE_PHONE)

    out = StringIO()
    call_command("replay_erasures", stdout=out)
    assert "People found again and erased: 2" in out.getvalue()  # by e-mail (the account) and by number
    assert traces(email) == [] and traces(*_phone_needles(ALICE_PHONE)) == [] and traces("Alice Santos") == []
    assert ErasureLedgerEntry.objects.get().last_replayed_at is not None

    again = StringIO()
    call_command("replay_erasures", stdout=again)
    assert "Nothing to re-apply" in again.getvalue()


def test_grace_period_cancel_and_validation(owner_a):
    job = erasure_job_create(subject_kind=SubjectKind.USER, user=owner_a)
    erasure_job_cancel(job=job, actor=None, reason="requested by mistake")
    job.refresh_from_db()
    assert job.status == ErasureStatus.CANCELLED and job.email == ""
    assert erasures_run_due(now=timezone.now() + LATER) == 0
    assert User.objects.get(pk=owner_a.pk).is_active
    from portal.errors import ApplicationError

    with pytest.raises(ApplicationError):
        erasure_job_create(subject_kind=SubjectKind.RECIPIENT)
    with pytest.raises(ApplicationError):
        erasure_job_create(subject_kind=SubjectKind.USER)


def test_encrypted_columns_are_scanned_too(owner_a):
    """The trace scan reads encrypted columns decrypted, so an identifier hidden there would still be
    found."""
    erasure_job_create(subject_kind=SubjectKind.USER, user=owner_a)
    encrypted = [f for f in ErasureJob._meta.concrete_fields if isinstance(f, EncryptedTextField)]
    assert encrypted and traces(owner_a.email)
