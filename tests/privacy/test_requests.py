"""Data subject requests: submission and verification, the status workflow and its audit trail, pauses,
extension, rejection, duplicates, expiry, reminders and escalation, failed steps, and the pages around
them."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from portal.crypto import email_lookup_hash, phone_lookup_hash
from portal.errors import ApplicationError, Conflict
from privacy.requests import correspondence, fulfilment, intake, reminders, reporting, staff
from privacy.requests.models import (
    DataSubjectRequest,
    FulfilmentStep,
    ReminderSent,
    RequestChannel,
    RequestEvent,
    RequestKind,
    RequestMessage,
    RequestStatus,
    StepStatus,
    VerificationMethod,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(settings):
    settings.PRIVACY_OFFICER_EMAIL = "dpo@operator.example"
    settings.OPS_ALERT_EMAILS = ["ops@operator.example"]
    return User.objects.create_user(email="staff@operator.example", password="x" * 12, is_staff=True)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a service and its on-commit work (the e-mail tasks), as a real request would."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def submit_public(commit, *, kind=RequestKind.ACCESS, email="juan@example.com", **extra):
    return commit(
        intake.request_submit,
        kind=kind,
        email=email,
        channel=RequestChannel.PUBLIC_FORM,
        full_name="Juan dela Cruz",
        **extra,
    )


def verified_request(commit, *, kind=RequestKind.ACCESS, user=None, **extra) -> DataSubjectRequest:
    if user is not None:
        dsr, _ = commit(
            intake.request_submit,
            kind=kind,
            email="",
            channel=RequestChannel.PRIVACY_CENTRE,
            user=user,
            **extra,
        )
        return dsr
    dsr, _ = submit_public(commit, kind=kind, **extra)
    commit(intake.request_verify_email, signed=_signed_from(correspondence.email_verify_url(dsr)))
    dsr.refresh_from_db()
    return dsr


def _signed_from(url: str) -> str:
    return re.search(r"/request/verify/([^/]+)/", url).group(1)


def outbox_to(address: str):
    return [m for m in mail.outbox if address in m.to]


# --- submission and verification ---


def test_signed_in_user_request_is_verified_and_acknowledged_at_once(commit, owner_a):
    dsr, token = commit(
        intake.request_submit,
        kind=RequestKind.ACCESS,
        email="",
        channel=RequestChannel.PRIVACY_CENTRE,
        user=owner_a,
    )
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED
    assert dsr.email == owner_a.email
    assert dsr.verification_method == VerificationMethod.ACCOUNT
    assert dsr.acknowledged_at is not None
    assert dsr.status_token_hash != token and len(dsr.status_token_hash) == 64
    [ack] = outbox_to(owner_a.email)
    assert dsr.reference in ack.subject and "First answer by" in ack.body and token in ack.body
    events = list(dsr.events.values_list("action", "from_status", "to_status", "actor_id"))
    assert events == [
        ("submitted", "", "submitted", owner_a.pk),
        ("verified", "submitted", "verified", owner_a.pk),
    ]
    assert RequestMessage.objects.get(request=dsr, kind="acknowledgement").sent_at is not None
    assert dsr.first_response_due_at - dsr.received_at <= timedelta(days=16)


def test_public_request_is_verified_by_the_signed_e_mail_link(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("privacy:request"),
            {
                "kind": "delete",
                "full_name": "Maria Clara",
                "email": "maria@example.com",
                "phone_number": "0917 123 4567",
                "verification_method": "email",
            },
        )
    dsr = DataSubjectRequest.objects.get(email_hash=email_lookup_hash("maria@example.com"))
    assert response.status_code == 302 and "/privacy/request/status/" in response["Location"]
    assert dsr.status == RequestStatus.SUBMITTED and dsr.phone_number == "+639171234567"
    [ack] = mail.outbox
    link = re.search(r"http\S+/request/verify/\S+/", ack.body).group(0)
    path = link.replace("http://127.0.0.1:8000", "")
    assert client.get(path).status_code == 200
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.SUBMITTED, "opening the link (a mail scanner) must not verify"
    assert client.post(path).status_code == 200
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED and dsr.verified_at is not None
    status_page = client.get(response["Location"])
    assert status_page.status_code == 200 and dsr.reference in status_page.content.decode()
    assert "no-store" in status_page["Cache-Control"]


def test_a_tampered_or_unknown_link_is_refused(client, commit):
    dsr, token = submit_public(commit)
    assert client.get(reverse("privacy:request_status", args=["not-the-token"])).status_code == 404
    signed = _signed_from(correspondence.email_verify_url(dsr))
    response = client.post(reverse("privacy:request_verify_email", args=[signed[:-2] + "xx"]))
    assert response.status_code == 404
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.SUBMITTED


def test_bad_public_input_is_a_clear_error_and_nothing_is_stored(client):
    response = client.post(
        reverse("privacy:request"),
        {"kind": "object", "full_name": "X", "email": "x@example.com", "verification_method": "sms"},
    )
    assert response.status_code == 200
    assert "mobile number" in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_sms_verification_goes_through_the_portals_own_otp_path(commit, settings):
    from billing.services import credits_grant_demo
    from messaging.models import Message
    from messaging.services.providers import provider_seed_demo_chain

    provider_seed_demo_chain(simulator_url="http://127.0.0.1:9")  # a route exists; delivery itself is not tested here
    operator = intake.privacy_operator_organization()
    assert operator.slug == settings.PRIVACY_OPERATOR_ORGANIZATION_SLUG == "operator"
    credits_grant_demo(organization=operator, amount=Decimal("100"))
    dsr, _ = submit_public(
        commit,
        kind=RequestKind.OBJECT,
        phone_number="09171234567",
        objections=["sms"],
        verification_method="sms",
    )
    dsr.refresh_from_db()
    assert dsr.verification_method == VerificationMethod.SMS and dsr.last_error == ""
    sms = (
        Message.objects.unscoped()
        .filter(organization=operator, recipient_hash=phone_lookup_hash("+639171234567"))
        .latest("id")
    )
    assert not re.search(r"\d{6}", sms.body)  # the operator's message log shows the code masked
    code = re.search(r"\b(\d{6})\b", sms.delivery_body).group(1)
    logged = RequestMessage.objects.get(request=dsr, kind="verification_code")
    assert code not in logged.body

    with pytest.raises(ApplicationError, match="wrong or has expired"):
        intake.request_verify_sms(request=dsr, code="000000" if code != "000000" else "111111")
    assert RequestEvent.objects.filter(request=dsr, action="verification_failed").exists()
    intake.request_verify_sms(request=dsr, code=code)
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED


def test_sms_code_that_cannot_be_sent_falls_back_to_the_e_mail_link(commit):
    intake.privacy_operator_organization()  # no credits: the code cannot be charged
    dsr, _ = submit_public(commit, phone_number="09171234567", verification_method="sms")
    dsr.refresh_from_db()
    assert dsr.verification_method == VerificationMethod.EMAIL
    assert "SMS code not sent" in dsr.last_error
    [ack] = [m for m in mail.outbox if m.to == [dsr.email]]
    assert "/request/verify/" in ack.body
    [alert] = [m for m in mail.outbox if m.subject == "Privacy request codes cannot be sent by SMS"]
    assert alert.to == correspondence.staff_alert_recipients() and "09171234567" not in alert.body


def test_a_number_that_opted_out_gets_the_e_mail_link_instead_of_a_silent_code(commit):
    from billing.services import credits_grant_demo
    from messaging.services.providers import provider_seed_demo_chain
    from privacy.data.models import SuppressionSource
    from privacy.data.objections import suppression_add

    provider_seed_demo_chain(simulator_url="http://127.0.0.1:9")
    credits_grant_demo(organization=intake.privacy_operator_organization(), amount=Decimal("100"))
    suppression_add(phone_number="09171234567", source=SuppressionSource.REQUEST)
    dsr, _ = submit_public(commit, phone_number="09171234567", verification_method="sms")
    dsr.refresh_from_db()
    assert dsr.verification_method == VerificationMethod.EMAIL
    assert "asked not to receive SMS" in dsr.last_error
    assert not RequestMessage.objects.filter(request=dsr, kind="verification_code").exists()


# --- workflow ---


def test_pause_awaiting_requester_moves_the_due_date_by_the_paused_time(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    due_before = dsr.due_at
    staff.request_start(request=dsr, actor=officer)
    commit(
        staff.request_ask_requester,
        request=dsr,
        actor=officer,
        question="Which organization sent the SMS?",
    )
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.AWAITING_REQUESTER and dsr.paused_since is not None
    assert "Which organization" in outbox_to(owner_a.email)[-1].body
    # Three days pass while we wait.
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(paused_since=dsr.paused_since - timedelta(days=3))
    dsr.refresh_from_db()
    intake.request_requester_reply(request=dsr, body="Alpha Retail")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.IN_PROGRESS and dsr.paused_since is None
    assert timedelta(days=3) <= dsr.paused_total < timedelta(days=3, minutes=1)
    assert dsr.due_at == due_before + dsr.paused_total
    transitions = list(dsr.events.exclude(from_status="").values_list("from_status", "to_status"))
    assert transitions[-3:] == [
        ("verified", "in_progress"),
        ("in_progress", "awaiting_requester"),
        ("awaiting_requester", "in_progress"),
    ]
    assert dsr.messages.filter(kind="requester_reply", direction="inbound").exists()


def test_invalid_transition_is_refused_with_a_clear_message(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    commit(intake.request_withdraw, request=dsr, actor=owner_a)
    with pytest.raises(Conflict, match="withdrawn; it cannot become in progress"):
        staff.request_start(request=dsr, actor=officer)


def test_rejection_needs_a_reason_and_tells_the_person_about_the_npc(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    with pytest.raises(ApplicationError, match="needs a reason"):
        staff.request_reject(request=dsr, actor=officer, reason="  ")
    commit(staff.request_reject, request=dsr, actor=officer, reason="We hold no data about this number.")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.REJECTED and dsr.closed_at is not None
    rejection = outbox_to(owner_a.email)[-1]
    assert "We hold no data about this number." in rejection.body
    assert "National Privacy Commission" in rejection.body
    event = dsr.events.get(action="rejected")
    assert (event.actor, event.from_status, event.to_status, event.note) == (
        officer,
        "verified",
        "rejected",
        "We hold no data about this number.",
    )


def test_only_staff_run_staff_actions(commit, owner_a):
    dsr = verified_request(commit, user=owner_a)
    with pytest.raises(ApplicationError, match="Only privacy staff"):
        staff.request_reject(request=dsr, actor=owner_a, reason="no")


def test_extension_once_with_reason_before_the_deadline_told_to_the_requester(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    original = dsr.due_at
    with pytest.raises(ApplicationError, match="needs a reason"):
        staff.request_extend(request=dsr, actor=officer, reason="")
    commit(staff.request_extend, request=dsr, actor=officer, reason="Records are in an off-site archive.")
    dsr.refresh_from_db()
    assert dsr.extended and dsr.extension_reason and dsr.extended_at and dsr.extended_by == officer
    assert dsr.status == RequestStatus.VERIFIED, "an extension is a flag, not a status"
    assert timedelta(days=55) <= dsr.due_at - original <= timedelta(days=62)
    told = outbox_to(owner_a.email)[-1]
    assert "off-site archive" in told.body and "more time" in told.subject
    with pytest.raises(Conflict, match="already extended"):
        staff.request_extend(request=dsr, actor=officer, reason="again")


def test_extension_after_the_deadline_is_refused(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(due_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(Conflict, match="before the deadline"):
        staff.request_extend(request=dsr, actor=officer, reason="Too late")


def test_second_open_request_of_the_same_type_is_flagged_as_a_duplicate(commit, officer, owner_a):
    first = verified_request(commit, user=owner_a)
    second = verified_request(commit, user=owner_a)
    other_kind = verified_request(commit, user=owner_a, kind=RequestKind.DELETE)
    second.refresh_from_db()
    assert second.duplicate_of == first
    assert other_kind.duplicate_of is None
    assert second.events.filter(action="flagged_duplicate").exists()
    # Answering the original answers the duplicate: it is not worked twice.
    commit(staff.request_reject, request=first, actor=officer, reason="Identity could not be confirmed.")
    second.refresh_from_db()
    assert second.status == RequestStatus.REJECTED and first.reference in second.resolution_note


def test_public_duplicate_matches_by_phone_number(commit):
    first = verified_request(commit, phone_number="09171234567")
    second = verified_request(commit, email="other@example.com", phone_number="+639171234567")
    assert second.duplicate_of == first


# --- periodic jobs ---


def test_unverified_requests_get_one_reminder_after_24_hours_and_expire_after_7_days(commit):
    dsr, _ = submit_public(commit)
    mail.outbox.clear()
    assert commit(reminders.requests_remind_unverified) == 0  # too early
    later = timezone.now() + timedelta(hours=25)
    assert commit(reminders.requests_remind_unverified, now=later) == 1
    assert commit(reminders.requests_remind_unverified, now=later + timedelta(hours=5)) == 0
    [reminder] = mail.outbox
    assert "confirm" in reminder.subject.lower() and "/request/verify/" in reminder.body
    assert reminders.requests_expire_unverified(now=timezone.now() + timedelta(days=6)) == 0
    assert reminders.requests_expire_unverified(now=timezone.now() + timedelta(days=7, minutes=1)) == 1
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.EXPIRED
    assert dsr.events.get(action="expired").actor_label == "system"


def test_due_reminders_at_10_5_and_1_days_are_each_sent_once(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    staff.request_assign(request=dsr, actor=officer, assignee=officer)
    mail.outbox.clear()
    due = dsr.due_at
    sent_keys = []
    for days_before in (12, 10, 9, 5, 5, 1, 1):
        commit(reminders.requests_send_due_reminders, now=due - timedelta(days=days_before, hours=1))
        sent_keys = sorted(ReminderSent.objects.filter(request=dsr).values_list("key", flat=True))
    assert sent_keys == ["due_10d", "due_1d", "due_5d"]
    assert len(outbox_to(officer.email)) == 3


def test_overdue_requests_escalate_to_the_privacy_officer_once_a_day(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    mail.outbox.clear()
    first_day = dsr.due_at + timedelta(hours=2)
    assert commit(reminders.requests_escalate_overdue, now=first_day) == 1
    assert commit(reminders.requests_escalate_overdue, now=first_day + timedelta(hours=3)) == 0
    assert commit(reminders.requests_escalate_overdue, now=first_day + timedelta(days=1)) == 1
    escalations = outbox_to("dpo@operator.example")
    assert len(escalations) == 2 and "OVERDUE" in escalations[0].subject


def test_paused_and_duplicate_requests_do_not_escalate(commit, officer, owner_a):
    first = verified_request(commit, user=owner_a)
    verified_request(commit, user=owner_a)  # duplicate
    staff.request_ask_requester(request=first, actor=officer, question="?")
    assert reminders.requests_escalate_overdue(now=first.due_at + timedelta(days=40)) == 0


# --- fulfilment steps reported by the data side ---


def test_failed_step_shows_on_the_board_and_alerts_staff_then_success_completes(commit, officer, owner_a, client):
    dsr = verified_request(commit, user=owner_a)
    staff.request_start(request=dsr, actor=officer)
    commit(reporting.fulfilment_report, request_id=dsr.pk, step="export", status="running")
    commit(
        reporting.fulfilment_report,
        request_id=dsr.pk,
        step="export",
        status="failed",
        error="disk full",
    )
    dsr.refresh_from_db()
    assert dsr.needs_attention and "disk full" in dsr.last_error
    alerts = [m for m in mail.outbox if "step failed" in m.subject]
    assert len(alerts) == 1 and set(alerts[0].to) == {"ops@operator.example", "dpo@operator.example"}
    # The same failure reported again alerts nobody twice.
    commit(
        reporting.fulfilment_report,
        request_id=dsr.pk,
        step="export",
        status="failed",
        error="disk full",
    )
    assert len([m for m in mail.outbox if "step failed" in m.subject]) == 1
    client.force_login(officer)
    board = client.get(reverse("privacy:staff_board")).content.decode()
    assert "export failed: disk full" in board
    with pytest.raises(Conflict, match="re-run"):
        staff.request_complete(request=dsr, actor=officer)
    commit(reporting.fulfilment_report, request_id=dsr.pk, step="export", status="running")
    assert FulfilmentStep.objects.get(request=dsr).attempts == 2
    commit(reporting.fulfilment_report, request_id=dsr.pk, step="export", status="succeeded")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.COMPLETED and not dsr.needs_attention
    assert outbox_to(owner_a.email)[-1].subject.endswith("Your request is complete")


def test_stuck_step_is_shown_and_reported_once(commit, officer, owner_a, client):
    dsr = verified_request(commit, user=owner_a)
    staff.request_start(request=dsr, actor=officer)
    commit(reporting.fulfilment_report, request_id=dsr.pk, step="export", status="running")
    mail.outbox.clear()
    assert commit(reminders.requests_alert_stuck_steps, now=timezone.now() + timedelta(hours=23)) == 0
    later = timezone.now() + timedelta(hours=25)
    assert commit(reminders.requests_alert_stuck_steps, now=later) == 1
    assert commit(reminders.requests_alert_stuck_steps, now=later + timedelta(hours=2)) == 0
    [alert] = mail.outbox
    assert "stuck: export" in alert.subject and "dpo@operator.example" in alert.to
    dsr.refresh_from_db()
    assert dsr.needs_attention and "no progress since" in dsr.last_error
    FulfilmentStep.objects.filter(request=dsr).update(updated_at=timezone.now() - timedelta(days=2))
    client.force_login(officer)
    assert "export stuck since" in client.get(reverse("privacy:staff_board")).content.decode()


def test_fulfilment_update_refuses_unknown_status(owner_a, commit):
    dsr = verified_request(commit, user=owner_a)
    with pytest.raises(ApplicationError, match="Unknown step status"):
        reporting.fulfilment_report(request_id=dsr.pk, step="export", status="maybe")
    assert not FulfilmentStep.objects.exists()


# --- each type, end to end on the requests side ---


def test_access_request_runs_the_data_sides_export(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a)
    export = commit(fulfilment.request_run_export, request=dsr, actor=officer)
    dsr.refresh_from_db()
    assert export.pk and export.request_id == dsr.pk
    step = FulfilmentStep.objects.get(request=dsr, step="export")
    assert dsr.events.filter(action="export_started").exists()
    # With the immediate task backend the export is built at commit; the export reports back.
    assert step.status in (StepStatus.RUNNING, StepStatus.SUCCEEDED)
    if step.status == StepStatus.SUCCEEDED:
        assert dsr.status == RequestStatus.COMPLETED
    else:
        assert dsr.status == RequestStatus.IN_PROGRESS


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_delete_request_marks_an_erasure(commit, officer, owner_a):
    dsr = verified_request(commit, user=owner_a, kind=RequestKind.DELETE)
    job = commit(fulfilment.request_run_erasure, request=dsr, actor=officer)
    dsr.refresh_from_db()
    assert job.pk
    assert dsr.status == RequestStatus.IN_PROGRESS
    assert FulfilmentStep.objects.get(request=dsr, step="erasure").status == StepStatus.RUNNING
    with pytest.raises(Conflict, match="not access"):
        fulfilment.request_run_export(request=dsr, actor=officer)
    scheduled = outbox_to(owner_a.email)[-1]
    assert "will be erased" in scheduled.subject and "National Privacy Commission" in scheduled.body
    # The scheduler runs the job after the grace period; the erasure reports success and the request completes.
    from privacy.data.erasure_run import erasure_job_run

    mail.outbox.clear()
    commit(erasure_job_run, job_id=job.pk, now=job.erase_after + timedelta(minutes=1))
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.COMPLETED
    assert FulfilmentStep.objects.get(request=dsr, step="erasure").status == StepStatus.SUCCEEDED
    # The erasure reports success before it erases the request's own contact details: the confirmation arrives.
    [done] = outbox_to(owner_a.email)
    assert "complete" in done.subject and "erased" in done.body


def test_object_request_applies_the_objections_and_completes(commit, officer, owner_a):
    from privacy.data.objections import user_allows

    dsr = verified_request(commit, user=owner_a, kind=RequestKind.OBJECT, objections=["marketing_email"])
    assert user_allows(user=owner_a, processing="marketing_email")
    commit(fulfilment.request_apply_objections, request=dsr, actor=officer)
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.COMPLETED
    assert not user_allows(user=owner_a, processing="marketing_email")
    assert "Marketing e-mail" in outbox_to(owner_a.email)[-1].body


def test_update_request_applies_the_changes_in_one_audited_action(commit, officer, owner_a):
    from accounts.models import AuditLog

    dsr = verified_request(
        commit,
        user=owner_a,
        kind=RequestKind.UPDATE,
        requested_changes={
            "full_name": "Juana Santos",
            "phone_number": "0918 765 4321",
            "email": "juana@alpha.example",
        },
    )
    commit(fulfilment.request_apply_updates, request=dsr, actor=officer)
    owner_a.refresh_from_db()
    dsr.refresh_from_db()
    assert (owner_a.full_name, owner_a.phone_number, owner_a.email) == (
        "Juana Santos",
        "+639187654321",
        "juana@alpha.example",
    )
    assert dsr.status == RequestStatus.COMPLETED
    applied = AuditLog.objects.unscoped().get(event_type="privacy.request.updates_applied")
    assert applied.actor == officer and applied.extra_data["before"]["full_name"] != "Juana Santos"


def test_update_of_an_unknown_field_is_refused(commit, owner_a):
    with pytest.raises(ApplicationError, match="Cannot request a change to 'password'"):
        intake.request_submit(
            kind=RequestKind.UPDATE,
            email="",
            channel=RequestChannel.API,
            user=owner_a,
            requested_changes={"password": "x"},
        )


# --- pages ---


def test_privacy_centre_lists_only_my_requests_and_another_persons_request_is_404(
    commit, login_as, owner_a, org_a, owner_b, org_b
):
    mine = verified_request(commit, user=owner_a)
    theirs = verified_request(commit, user=owner_b)
    client = login_as(owner_a, org_a)
    page = client.get(reverse("privacy:centre")).content.decode()
    assert mine.reference in page and theirs.reference not in page
    assert client.get(reverse("privacy:my_request", args=[mine.pk])).status_code == 200
    assert client.get(reverse("privacy:my_request", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("privacy:my_request", args=[theirs.pk]), {"action": "withdraw"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == RequestStatus.VERIFIED


def test_privacy_centre_form_submits_a_request(client_owner_a, owner_a):
    response = client_owner_a.post(reverse("privacy:centre"), {"kind": "object", "objections": ["usage_analytics"]})
    dsr = DataSubjectRequest.objects.get(user=owner_a)
    assert response.status_code == 302 and response["Location"] == reverse("privacy:my_request", args=[dsr.pk])
    assert dsr.objections == ["usage_analytics"] and dsr.channel == RequestChannel.PRIVACY_CENTRE


def test_profile_page_updates_name_and_number_directly(client_owner_a, owner_a):
    response = client_owner_a.post(reverse("privacy:profile"), {"full_name": "New Name", "phone_number": "09171234567"})
    assert response.status_code == 302
    owner_a.refresh_from_db()
    assert (owner_a.full_name, owner_a.phone_number) == ("New Name", "+639171234567")
    bad = client_owner_a.post(reverse("privacy:profile"), {"full_name": "X", "phone_number": "12"})
    assert bad.status_code == 200
    owner_a.refresh_from_db()
    assert owner_a.full_name == "New Name"


def test_status_page_lets_the_requester_answer_and_withdraw(commit, client, officer):
    dsr, token = submit_public(commit)
    staff.request_verify_by_staff(request=dsr, actor=officer, note="Called them back")
    staff.request_ask_requester(request=dsr, actor=officer, question="Which number?")
    url = reverse("privacy:request_status", args=[token])
    assert client.post(url, {"action": "reply", "body": "0917 123 4567"}).status_code == 302
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.IN_PROGRESS
    client.post(url, {"action": "withdraw"})
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.WITHDRAWN
    assert dsr.events.get(action="withdrawn").actor_label == "requester"


def test_public_pages_render(client, client_owner_a):
    for name in ("privacy:request", "privacy:contact"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("privacy:request") + "?kind=delete").status_code == 200
    assert client.get(reverse("privacy:policy")).status_code == 404  # nothing published yet
    assert client.get(reverse("privacy:centre")).status_code == 302  # sign in first
    for name in ("privacy:centre", "privacy:profile"):
        assert client_owner_a.get(reverse(name)).status_code == 200


def test_a_badly_stored_profile_number_does_not_block_a_request(commit, owner_a):
    User.objects.filter(pk=owner_a.pk).update(phone_number="call me")
    owner_a.refresh_from_db()
    dsr = verified_request(commit, user=owner_a)
    assert dsr.phone_number == "" and dsr.status == RequestStatus.VERIFIED


def test_every_periodic_job_is_a_task_that_takes_no_arguments():
    from django.utils.module_loading import import_string

    from privacy.periodic import SCHEDULE

    paths = [path for path, _ in SCHEDULE]
    assert "privacy.periodic.requests_escalate_overdue_task" in paths
    assert "privacy.periodic.erasures_run_due_task" in paths  # the data side's jobs are included
    for path, seconds in SCHEDULE:
        assert seconds > 0 and callable(import_string(path).enqueue)


# --- staff board ---


def test_board_is_staff_only(client_owner_a):
    response = client_owner_a.get(reverse("privacy:staff_board"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_board_hides_unverified_and_duplicates_by_default_and_filters(commit, client, officer, owner_a, owner_b):
    verified = verified_request(commit, user=owner_a)
    duplicate = verified_request(commit, user=owner_a)
    unverified, _ = submit_public(commit, email="new@example.com")
    deletion = verified_request(commit, user=owner_b, kind=RequestKind.DELETE)
    client.force_login(officer)
    page = client.get(reverse("privacy:staff_board")).content.decode()
    assert verified.reference in page and deletion.reference in page
    assert unverified.reference not in page and f">{duplicate.reference}<" not in page
    page = client.get(reverse("privacy:staff_board"), {"unverified": "1", "duplicates": "1"}).content.decode()
    assert unverified.reference in page and duplicate.reference in page
    page = client.get(reverse("privacy:staff_board"), {"kind": "delete"}).content.decode()
    assert deletion.reference in page and verified.reference not in page
    DataSubjectRequest.objects.filter(pk=deletion.pk).update(due_at=timezone.now() - timedelta(days=1))
    page = client.get(reverse("privacy:staff_board"), {"band": "overdue"}).content.decode()
    assert deletion.reference in page and verified.reference not in page
    staff.request_assign(request=verified, actor=officer, assignee=officer)
    page = client.get(reverse("privacy:staff_board"), {"assignee": str(officer.pk)}).content.decode()
    assert verified.reference in page and deletion.reference not in page


def test_board_query_count_does_not_grow_with_requests(commit, client, officer, django_assert_max_num_queries):
    client.force_login(officer)
    for i in range(3):
        verified_request(commit, email=f"p{i}@example.com")
    with django_assert_max_num_queries(13) as few:
        client.get(reverse("privacy:staff_board"))
    for i in range(3, 25):
        dsr = verified_request(commit, email=f"p{i}@example.com", kind=RequestKind.DELETE)
        staff.request_assign(request=dsr, actor=officer, assignee=officer)
        FulfilmentStep.objects.create(request=dsr, step="erasure", status=StepStatus.FAILED, error="boom")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("privacy:staff_board"))
    assert response.content.decode().count("erasure failed: boom") == 22


def test_board_metrics_count_on_time_and_median(commit, officer, owner_a):
    from privacy.requests.selectors import board_metrics

    on_time = verified_request(commit, user=owner_a)
    commit(staff.request_complete, request=on_time, actor=officer, note="Sent.")
    late = verified_request(commit, user=owner_a, kind=RequestKind.DELETE)
    DataSubjectRequest.objects.filter(pk=late.pk).update(received_at=timezone.now() - timedelta(days=40))
    late.refresh_from_db()
    commit(staff.request_reject, request=late, actor=officer, reason="Legal hold.")
    metrics = board_metrics()
    assert len(metrics["per_month"]) == 12
    assert metrics["completed_total"] == 2
    assert metrics["on_time_percent"] == 50.0
    this_month = metrics["per_month"][-1]
    assert (this_month.completed, this_month.on_time, this_month.received) == (
        2,
        1,
        1,
    )  # the late one came in earlier
    assert metrics["median_days"] == pytest.approx(20.0, abs=0.1)  # median of 0 and 40 days


def test_admin_changelist_and_change_page_render(commit, officer, owner_a, client):
    officer.is_superuser = True
    officer.save()
    dsr = verified_request(commit, user=owner_a)
    staff.request_evidence_add(request=dsr, actor=officer, label="ID checked by phone")
    client.force_login(officer)
    assert client.get(reverse("admin:privacy_datasubjectrequest_changelist")).status_code == 200
    page = client.get(reverse("admin:privacy_datasubjectrequest_change", args=[dsr.pk]))
    assert page.status_code == 200 and "ID checked by phone" in page.content.decode()
    # The history reads in words, the same as the requester's pages: no codes, no "Submitted → Submitted".
    html = page.content.decode()
    assert "Identity confirmed" in html and "Evidence added" in html and "What happened" in html
    assert ">evidence_added<" not in html and ">verified<" not in html
    assert not re.search(r"(\w[\w ]*) → \1<", html)


def test_admin_reject_action_asks_for_a_reason_then_rejects(commit, officer, owner_a, client):
    officer.is_superuser = True
    officer.save()
    dsr = verified_request(commit, user=owner_a)
    client.force_login(officer)
    url = reverse("admin:privacy_datasubjectrequest_changelist")
    prompt = client.post(url, {"action": "action_reject", "_selected_action": [dsr.pk]})
    assert prompt.status_code == 200 and "NPC complaint notice" in prompt.content.decode()
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED
    with_reason = {
        "action": "action_reject",
        "_selected_action": [dsr.pk],
        "apply": "1",
        "reason": "Not our data.",
    }
    client.post(url, with_reason)
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.REJECTED and dsr.rejection_reason == "Not our data."


def test_staff_record_a_request_received_by_e_mail_with_its_true_received_time(commit, officer, owner_a):
    received = timezone.now() - timedelta(days=3)
    dsr = commit(
        staff.request_record_received,
        actor=officer,
        kind=RequestKind.ACCESS,
        email="Juan@Example.ph",
        full_name="Juan dela Cruz",
        received_at=received,
        details="Sent to iprog.tech@gmail.com on Friday.",
        identity_note="Replied from the address on file; matched the account name.",
    )
    assert dsr.channel == "staff" and dsr.received_at == received
    assert dsr.status == RequestStatus.VERIFIED and dsr.verification_method == VerificationMethod.STAFF
    assert dsr.due_at < timezone.now() + timedelta(days=28)  # the clock started when it reached us
    assert RequestEvent.objects.filter(request=dsr, action="recorded_by_staff").exists()
    assert any(m.to == ["juan@example.ph"] for m in mail.outbox)  # acknowledged at once
    with pytest.raises(ApplicationError, match="future"):
        staff.request_record_received(
            actor=officer,
            kind=RequestKind.ACCESS,
            email="a@example.ph",
            received_at=timezone.now() + timedelta(hours=1),
        )
    with pytest.raises(ApplicationError, match="staff"):
        staff.request_record_received(
            actor=owner_a, kind=RequestKind.ACCESS, email="a@example.ph", received_at=timezone.now()
        )


def test_the_admin_form_records_a_received_request_without_identity_check(client, commit, officer, owner_a):
    officer.is_superuser = True
    officer.save(update_fields=["is_superuser"])
    client.force_login(officer)
    url = reverse("admin:privacy_datasubjectrequest_record_received")
    assert (
        reverse("admin:privacy_datasubjectrequest_record_received").encode()
        in client.get(reverse("admin:privacy_datasubjectrequest_changelist")).content
    )
    form = {"kind": "delete", "received_at": "2026-11-20 14:30", "email": "maria@example.ph", "details": "Letter"}
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    dsr = DataSubjectRequest.objects.get(email_hash=email_lookup_hash("maria@example.ph"))
    assert dsr.status == RequestStatus.SUBMITTED and dsr.verification_method == VerificationMethod.EMAIL
    assert timezone.localtime(dsr.received_at).strftime("%Y-%m-%d %H:%M") == "2026-11-20 14:30"
    client.force_login(owner_a)
    assert client.get(url).status_code == 302  # not staff: sent to the admin login


def test_the_admin_queue_hides_unverified_requests_and_duplicates_by_default(client, commit, officer, owner_a):
    officer.is_superuser = True
    officer.save(update_fields=["is_superuser"])
    unverified, _ = submit_public(commit, email="new@example.ph")
    verified = verified_request(commit, email="known@example.ph")
    duplicate = verified_request(commit, email="known@example.ph")
    assert duplicate.duplicate_of_id == verified.pk
    client.force_login(officer)
    url = reverse("admin:privacy_datasubjectrequest_changelist")
    shown = {r.pk for r in client.get(url).context["cl"].result_list}
    assert shown == {verified.pk}
    assert {r.pk for r in client.get(url, {"queue": "unverified"}).context["cl"].result_list} == {unverified.pk}
    assert {r.pk for r in client.get(url, {"queue": "all"}).context["cl"].result_list} == {
        unverified.pk,
        verified.pk,
        duplicate.pk,
    }


def test_the_board_hides_unverified_requests_unless_asked_for_them(commit, officer):
    from privacy.requests.selectors import BoardFilters, board_rows

    unverified, _ = submit_public(commit, email="new@example.ph")
    verified = verified_request(commit, email="known@example.ph")
    assert [r.request.pk for r in board_rows(filters=BoardFilters())] == [verified.pk]
    assert [r.request.pk for r in board_rows(filters=BoardFilters(status="submitted"))] == [unverified.pk]
    both = board_rows(filters=BoardFilters(show_unverified=True))
    assert {r.request.pk for r in both} == {unverified.pk, verified.pk}
