"""Erasure tells the truth: the request completes and the person is told only once every area is done, a legal
hold keeps only the data it names (and the person is told what and why, staff that it stopped the job), retries
show on the request, and a request that needs attention stays on the board whatever its status."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from portal.personal_data import ErasureArea
from privacy.data import erasure_areas
from privacy.data.erasure_run import erasure_job_run
from privacy.data.legal_holds import legal_hold_place, legal_hold_release
from privacy.data.models import ErasureStatus, ErasureTask, ErasureTaskStatus
from privacy.requests import fulfilment, reporting
from privacy.requests.correspondence import ERASED_RECIPIENT_LABEL
from privacy.requests.models import FulfilmentStep, RequestKind, RequestMessage, RequestStatus, StepStatus
from tests.privacy.data_helpers import ALICE_PHONE, make_message, make_request, private_root  # noqa: F401

pytestmark = [
    pytest.mark.django_db(databases=["default", "erasure_ledger"]),
    pytest.mark.usefixtures("private_root"),
]


@pytest.fixture
def officer(settings):
    settings.PRIVACY_OFFICER_EMAIL = "dpo@operator.example"
    settings.OPS_ALERT_EMAILS = ["ops@operator.example"]
    return User.objects.create_user(email="staff@operator.example", password="x" * 12, is_staff=True)


def _delete_request(user, officer, capture):
    request = make_request(
        kind=RequestKind.DELETE, user=user, phone_number=ALICE_PHONE, verification_method="sms", status="verified"
    )
    with capture(execute=True):
        job = fulfilment.request_run_erasure(request=request, actor=officer)
    return request, job


def _completion_mails(address):
    return [m for m in mail.outbox if "complete" in m.subject.lower() and m.to == [address]]


def test_the_request_completes_only_after_the_privacy_records_are_erased(
    owner_a, org_a, officer, client, monkeypatch, django_capture_on_commit_callbacks
):
    email = owner_a.email
    make_message(org_a, ALICE_PHONE, "Hello Alice")
    request, job = _delete_request(owner_a, officer, django_capture_on_commit_callbacks)
    real = erasure_areas.apply_finder

    def privacy_area_down(entry, finder, subject, **kwargs):
        if entry.area == ErasureArea.PRIVACY:
            raise RuntimeError("database restarting")
        return real(entry, finder, subject, **kwargs)

    monkeypatch.setattr(erasure_areas, "apply_finder", privacy_area_down)
    now = job.erase_after + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        erasure_job_run(job_id=job.pk, now=now)
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS  # not "completed" while the privacy records remain
    assert _completion_mails(email) == []
    step = FulfilmentStep.objects.get(request=request, step="erasure")
    assert step.status == StepStatus.RUNNING
    assert "Privacy records area failing (attempt 1 of" in step.progress and "database restarting" in step.progress
    task = ErasureTask.objects.get(job=job, area=ErasureArea.PRIVACY)
    assert step.next_attempt_at == task.next_attempt_at and task.status == ErasureTaskStatus.RETRYING
    client.force_login(officer)
    board = client.get("/privacy/staff/board/").content.decode()
    assert "Privacy records area failing" in board and "next attempt" in board

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        erasure_job_run(job_id=job.pk, now=now + timedelta(hours=1))
    request.refresh_from_db()
    job.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED and job.status == ErasureStatus.DONE
    assert request.email.endswith("@erased.invalid")  # erased before it completed...
    [done] = _completion_mails(email)  # ...and the person was told all the same
    assert "erased" in done.body
    logged = RequestMessage.objects.get(request=request, kind="completion")
    assert logged.recipients == [ERASED_RECIPIENT_LABEL] and logged.erased_recipient == "" and logged.sent_at


def test_a_hold_on_an_organization_keeps_only_its_records(
    owner_a, org_a, org_b, officer, django_capture_on_commit_callbacks
):
    alpha = make_message(org_a, ALICE_PHONE, "Alpha: your parcel")
    bravo = make_message(org_b, ALICE_PHONE, "Bravo: appointment at 9")
    hold = legal_hold_place(
        reason="Subpoena 2026-114", actor=officer, organization=org_b, ground="Court order (DPA sec. 12(c))"
    )
    request, job = _delete_request(owner_a, officer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        erasure_job_run(job_id=job.pk, now=job.erase_after + timedelta(minutes=1))
    job.refresh_from_db()
    request.refresh_from_db()
    alpha.refresh_from_db()
    bravo.refresh_from_db()
    assert alpha.body == "" and alpha.recipient.startswith("h:")  # everything not held is erased
    assert bravo.body == "Bravo: appointment at 9" and bravo.recipient == ALICE_PHONE  # the held records stay
    assert User.objects.get(pk=owner_a.pk).email.endswith("@erased.invalid")
    messages_task = ErasureTask.objects.get(job=job, area=ErasureArea.MESSAGES)
    assert messages_task.status == ErasureTaskStatus.ON_HOLD and messages_task.rows_held == 1
    assert messages_task.held_by == [hold.pk]
    assert job.status == ErasureStatus.ON_HOLD

    assert request.status == RequestStatus.COMPLETED
    [answer] = [m for m in mail.outbox if "complete" in m.subject.lower()]
    assert "Bravo Clinic" in answer.body and "Court order (DPA sec. 12(c))" in answer.body
    assert "Subpoena" not in answer.body  # the staff reason stays with staff
    [alert] = [m for m in mail.outbox if "legal hold keeps part" in m.subject]
    assert "Subpoena 2026-114" in alert.body and set(alert.to) >= {"ops@operator.example"}
    erasure_job_run(job_id=job.pk, now=job.erase_after + timedelta(minutes=5))
    assert len([m for m in mail.outbox if "legal hold keeps part" in m.subject]) == 1  # told once

    legal_hold_release(hold=hold, actor=officer)
    erasure_job_run(job_id=job.pk, now=job.erase_after + timedelta(minutes=10))
    job.refresh_from_db()
    bravo.refresh_from_db()
    assert job.status == ErasureStatus.DONE and bravo.body == "" and bravo.recipient.startswith("h:")


def test_a_hold_on_one_area_keeps_that_area_only(owner_a, org_a, officer, django_capture_on_commit_callbacks):
    message = make_message(org_a, ALICE_PHONE, "Alpha: your parcel")
    legal_hold_place(reason="Dispute", actor=officer, phone_number=ALICE_PHONE, area=ErasureArea.MESSAGES)
    request, job = _delete_request(owner_a, officer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        erasure_job_run(job_id=job.pk, now=job.erase_after + timedelta(minutes=1))
    message.refresh_from_db()
    assert message.body == "Alpha: your parcel"  # the held number's messages stay
    assert User.objects.get(pk=owner_a.pk).full_name == ""  # the account went
    statuses = dict(ErasureTask.objects.filter(job=job).values_list("area", "status"))
    assert statuses[ErasureArea.MESSAGES] == ErasureTaskStatus.ON_HOLD
    assert statuses[ErasureArea.ACCOUNTS] == ErasureTaskStatus.DONE


def test_a_request_that_needs_attention_stays_on_the_board_whatever_its_status(owner_a, officer, client):
    request = make_request(user=owner_a, status=RequestStatus.COMPLETED, closed_at=timezone.now())
    client.force_login(officer)
    assert request.reference not in client.get("/privacy/staff/board/").content.decode()
    reporting.fulfilment_report(
        request_id=request.pk, step="export", status=StepStatus.FAILED, error="archive could not be written"
    )
    board = client.get("/privacy/staff/board/").content.decode()
    assert request.reference in board and "archive could not be written" in board
