"""Support and privacy contact form: answered within 48 hours on business days, shown on the SLA board."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from portal.errors import ApplicationError, Conflict
from privacy.requests import inquiries
from privacy.requests.models import ContactInquiry, InquiryStatus
from privacy.sla import PH_TZ, Holiday

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(settings):
    settings.PRIVACY_OFFICER_EMAIL = "dpo@operator.example"
    settings.OPS_ALERT_EMAILS = ["support@operator.example"]
    return User.objects.create_user(email="agent@operator.example", password="x" * 12, is_staff=True)


def test_inquiry_due_date_skips_weekend_and_holidays_from_the_table(staff):
    Holiday.objects.create(date=date(2026, 11, 30), name="Bonifacio Day")
    inquiry = inquiries.inquiry_submit(
        full_name="Pedro",
        email="pedro@example.com",
        subject="Where is my data?",
        message="Hello",
        received_at=datetime(2026, 11, 27, 16, 30, tzinfo=PH_TZ),  # Friday afternoon
    )
    assert inquiry.due_at == datetime(2026, 12, 2, 16, 30, tzinfo=PH_TZ)  # Tue and Wed count; Mon is a holiday


def test_contact_form_acknowledges_and_routes_privacy_questions_to_the_officer(
    client, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("privacy:contact"),
            {
                "full_name": "Pedro Penduko",
                "email": "Pedro@Example.com",
                "subject": "Please stop texting me",
                "message": "I get SMS from a shop.",
                "is_privacy": "on",
            },
        )
    assert response.status_code == 200 and "We will answer by" in response.content.decode()
    inquiry = ContactInquiry.objects.get()
    assert (inquiry.email, inquiry.is_privacy, inquiry.status) == (
        "pedro@example.com",
        True,
        InquiryStatus.OPEN,
    )
    assert {tuple(m.to) for m in mail.outbox} == {("pedro@example.com",), ("dpo@operator.example",)}
    assert "48 hours during business days" in next(m for m in mail.outbox if m.to == ["pedro@example.com"]).body


def test_bad_or_bot_input_is_refused_and_nothing_is_stored(client, staff):
    response = client.post(reverse("privacy:contact"), {"full_name": "X", "email": "not-an-email", "subject": "s"})
    assert response.status_code == 200 and not ContactInquiry.objects.exists()
    bot = client.post(
        reverse("privacy:contact"),
        {
            "full_name": "X",
            "email": "x@example.com",
            "subject": "s",
            "message": "m",
            "website": "http://spam",
        },
    )
    assert bot.status_code == 200 and "could not accept" in bot.content.decode()
    assert not ContactInquiry.objects.exists()
    with pytest.raises(ApplicationError, match="subject and a message"):
        inquiries.inquiry_submit(full_name="X", email="x@example.com", subject=" ", message="m")


def test_answer_is_emailed_once_and_leaves_the_board(client, staff, django_capture_on_commit_callbacks):
    inquiry = inquiries.inquiry_submit(full_name="Ana", email="ana@example.com", subject="Invoice", message="Hi")
    client.force_login(staff)
    board = client.get(reverse("privacy:staff_board")).content.decode()
    assert "Invoice" in board
    with django_capture_on_commit_callbacks(execute=True):
        inquiries.inquiry_answer(inquiry=inquiry, actor=staff, answer="Sent again.")
    assert [m.subject for m in mail.outbox if m.to == ["ana@example.com"]] == ["Re: Invoice"]
    with pytest.raises(Conflict):
        inquiries.inquiry_answer(inquiry=inquiry, actor=staff, answer="Twice?")
    assert "Invoice" not in client.get(reverse("privacy:staff_board")).content.decode()


def test_overdue_inquiry_is_coloured_on_the_board(client, staff):
    inquiry = inquiries.inquiry_submit(full_name="Ana", email="ana@example.com", subject="Late one", message="Hi")
    ContactInquiry.objects.filter(pk=inquiry.pk).update(due_at=inquiry.due_at - timedelta(days=5))
    client.force_login(staff)
    board = client.get(reverse("privacy:staff_board")).content.decode()
    row = board[board.index("Late one") - 300 : board.index("Late one")]
    assert "table-danger" in row
