"""E-mails write times in Asia/Manila, saying so."""

from datetime import UTC, datetime

from django.core import mail

from privacy.requests import inquiries


def test_inquiry_email_to_staff_writes_the_due_time_in_manila(db, django_capture_on_commit_callbacks, settings):
    settings.OPS_ALERT_EMAILS = ["ops@example.com"]
    received = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 16:30 on a Friday in Manila
    with django_capture_on_commit_callbacks(execute=True):
        inquiries.inquiry_submit(
            full_name="Pedro", email="pedro@example.com", subject="Hours", message="Hello", received_at=received
        )
    [staff_mail] = [m for m in mail.outbox if m.to == ["ops@example.com"]]
    assert "16:30 (Philippine time)" in staff_mail.body, staff_mail.body
    assert "08:30" not in staff_mail.body
