"""Deadlines: the official Philippine holidays (and the days staff add), the clock that stops for proof of identity
and starts again when it arrives, the reminder before the 15-day first answer, and one due date everywhere."""

import re
from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from privacy.requests import intake, reminders, staff
from privacy.requests.correspondence import status_url
from privacy.requests.models import RequestChannel, RequestEvent, RequestKind, RequestStatus
from privacy.sla import PH_TZ, Holiday, SlaRule, due_at_compute, due_label, holidays_between

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(settings):
    settings.PRIVACY_OFFICER_EMAIL = "dpo@operator.example"
    return User.objects.create_user(email="staff@operator.example", password="x" * 12, is_staff=True)


def _submit(capture, **extra):
    with capture(execute=True):
        return intake.request_submit(
            kind=RequestKind.ACCESS,
            email="juan@example.com",
            channel=RequestChannel.PUBLIC_FORM,
            full_name="Juan dela Cruz",
            **extra,
        )


def test_holy_week_and_other_official_holidays_do_not_count_as_work():
    days = holidays_between(date(2026, 1, 1), date(2026, 12, 31))
    # Regular holidays and special non-working days, from the maintained calendar, with nothing in the table.
    assert {date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 4), date(2026, 8, 21), date(2026, 12, 8)} <= days
    assert not Holiday.objects.exists()
    # Received on Holy Wednesday: Maundy Thursday and Good Friday are holidays, so 48 business hours end on Tuesday.
    received = datetime(2026, 4, 1, 10, 0, tzinfo=PH_TZ)
    assert due_at_compute(rule=SlaRule.INQUIRY_48_BUSINESS_HOURS, received_at=received) == datetime(
        2026, 4, 7, 10, 0, tzinfo=PH_TZ
    )
    # Staff add a day proclaimed later; it counts too.
    Holiday.objects.create(date=date(2026, 4, 6), name="Proclaimed special non-working day")
    assert due_at_compute(rule=SlaRule.INQUIRY_48_BUSINESS_HOURS, received_at=received) == datetime(
        2026, 4, 8, 10, 0, tzinfo=PH_TZ
    )
    # Any year: the calendar is computed, not typed in (Maundy Thursday 2027 is 25 March).
    assert date(2027, 3, 25) in holidays_between(date(2027, 3, 1), date(2027, 3, 31))


def test_the_clock_stops_for_proof_of_identity_and_starts_again_when_it_arrives(
    officer, client, django_capture_on_commit_callbacks
):
    dsr, token = _submit(django_capture_on_commit_callbacks)
    staff.request_verify_by_staff(request=dsr, actor=officer, note="ID seen at the counter")
    staff.request_start(request=dsr, actor=officer)
    with django_capture_on_commit_callbacks(execute=True):
        staff.request_ask_identity(request=dsr, actor=officer, what="A photo of a government ID")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.AWAITING_REQUESTER and dsr.awaiting_identity
    [asked] = [m for m in mail.outbox if m.subject.endswith("We need proof of your identity")]
    assert "starts again" in asked.body

    client.force_login(officer)
    assert "clock paused: waiting for proof of identity" in client.get("/privacy/staff/board/").content.decode()
    client.logout()
    page = client.get(status_url(token)).content.decode()
    assert "Paused" in page and "proof of identity" in page

    arrives = timezone.now()
    intake.request_requester_reply(request=dsr, body="Attached: my driver's licence")
    dsr.refresh_from_db()
    assert not dsr.awaiting_identity and dsr.clock_started_at is not None
    assert dsr.clock_started_at >= arrives
    new_due = due_at_compute(rule=dsr.sla_rule, received_at=dsr.clock_started_at)
    assert dsr.due_at == new_due  # counted from the day the proof arrived, from zero
    assert RequestEvent.objects.filter(request=dsr, action="clock_restarted").exists()
    page = client.get(status_url(token)).content.decode()
    assert due_label(new_due) in page and "when your proof of identity arrived" in page
    client.force_login(officer)
    board = client.get("/privacy/staff/board/").content.decode()
    assert due_label(new_due) in board and "clock restarted" in board


def test_a_reminder_before_the_15_day_first_answer(officer, owner_a, django_capture_on_commit_callbacks):
    dsr, _ = _submit(django_capture_on_commit_callbacks, user=owner_a)
    now = dsr.first_response_due_at - timedelta(days=4, hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.requests_send_first_answer_reminders(now=now) == 1
        assert reminders.requests_send_first_answer_reminders(now=now) == 0  # once
    [reminder] = [m for m in mail.outbox if "First answer due in" in m.subject]
    assert reminder.to == ["dpo@operator.example"] and due_label(dsr.first_response_due_at) in reminder.body
    dsr.first_response_at = timezone.now()
    dsr.save()
    assert reminders.requests_send_first_answer_reminders(now=dsr.first_response_due_at - timedelta(hours=3)) == 0


def test_every_page_admin_screen_and_e_mail_gives_the_same_due_date(
    officer, client, django_capture_on_commit_callbacks
):
    received = datetime(2026, 1, 31, 10, 0, tzinfo=PH_TZ)
    dsr, token = _submit(django_capture_on_commit_callbacks, received_at=received)
    staff.request_verify_by_staff(request=dsr, actor=officer, note="Known customer")
    dsr.refresh_from_db()
    expected = "28 February 2026"
    assert due_label(dsr.due_at) == expected  # one calendar month: 31 January -> 28 February

    [ack] = [m for m in mail.outbox if "We received your" in m.subject]
    officer.is_superuser = True  # admin pages need the model permissions
    officer.save()
    client.force_login(officer)
    texts = {
        "e-mail": ack.body,
        "status page": client.get(status_url(token)).content.decode(),
        "board": client.get("/privacy/staff/board/").content.decode(),
        "admin list": client.get("/admin/privacy/datasubjectrequest/?queue=all").content.decode(),
        "admin page": client.get(f"/admin/privacy/datasubjectrequest/{dsr.pk}/change/").content.decode(),
    }
    for where, text in texts.items():
        assert expected in text, where
        assert not re.search(r"March 1\b|\b1 March 2026|Feb\. 28, 2026, 4", text), where
