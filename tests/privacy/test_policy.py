"""Policy versions: the seeded policy, public pages, safe rendering, publishing a material change (batched
e-mail, API notice, banner until acknowledged) and acknowledgements."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from portal.errors import Conflict
from privacy import policy as privacy_policy
from privacy import policy_notifications
from privacy.context_processors import policy_banner
from privacy.models import PolicyAcknowledgement, PolicyVersion
from privacy.policy_markdown import render_policy_markdown

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return User.objects.create_user(email="dpo@operator.example", password="x" * 12, is_staff=True)


@pytest.fixture
def seeded():
    return privacy_policy.privacy_seed_policy()


def draft(version: int, *, material: bool, body: str = "## 1. Introduction\n\nNew text.") -> PolicyVersion:
    return PolicyVersion.objects.create(
        version=version,
        body_markdown=body,
        last_updated=date(2026, 1, 15),
        effective_date=date(2026, 1, 15),
        material_change=material,
        summary_of_changes="We now keep delivery receipts for 90 days.",
    )


def test_seed_loads_the_operators_policy_as_version_1_once(seeded):
    assert (seeded.version, seeded.last_updated, seeded.published_at is not None) == (
        1,
        date(2025, 11, 30),
        True,
    )
    assert "IPROG TECH" in seeded.body_markdown
    assert "We will respond to your request within 30 days." in seeded.body_markdown
    assert "within 48 hours during business days" in seeded.body_markdown
    assert privacy_policy.privacy_seed_policy().pk == seeded.pk
    assert PolicyVersion.objects.count() == 1


def test_public_policy_page_shows_the_current_version_and_lists_earlier_ones(client, seeded, staff):
    page = client.get(reverse("privacy:policy")).content.decode()
    assert "Last Updated: November 30, 2025" in page
    assert "<h3>6. Your Rights</h3>" in page and "<li>To send SMS messages as requested through our API</li>" in page
    assert 'href="mailto:iprog.tech@gmail.com"' in page
    privacy_policy.policy_publish(policy_version=draft(2, material=False), actor=staff)
    page = client.get(reverse("privacy:policy")).content.decode()
    assert "Last Updated: January 15, 2026" in page and "New text." in page
    assert reverse("privacy:policy_version", args=[1]) in page
    earlier = client.get(reverse("privacy:policy_version", args=[1])).content.decode()
    assert "IPROG TECH" in earlier and "an earlier version" in earlier
    assert client.get(reverse("privacy:policy_version", args=[99])).status_code == 404


def test_drafts_are_not_public(client, seeded):
    draft(2, material=True)
    assert client.get(reverse("privacy:policy_version", args=[2])).status_code == 404
    assert "New text." not in client.get(reverse("privacy:policy")).content.decode()


def test_markdown_escapes_html_first():
    html = render_policy_markdown("## Hi <b>there</b>\n\n<script>alert(1)</script> **bold** [x](javascript:alert(1))")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<h3>Hi &lt;b&gt;there&lt;/b&gt;</h3>" in html and "<strong>bold</strong>" in html
    assert 'href="javascript' not in html


def test_material_change_emails_everyone_in_batches_and_posts_an_api_notice(
    settings, seeded, staff, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core import mail as django_mail

    from messaging.models import Notice

    settings.PRIVACY_POLICY_EMAIL_BATCH_SIZE = 2
    for i in range(4):
        User.objects.create_user(email=f"user{i}@example.com", password="x" * 12)
    User.objects.create_user(email="gone@example.com", password="x" * 12, is_active=False)
    batches = []
    real_send_mass_mail = django_mail.send_mass_mail
    monkeypatch.setattr(
        policy_notifications,
        "send_mass_mail",
        lambda messages, **kw: batches.append(len(messages)) or real_send_mass_mail(messages, **kw),
    )
    with django_capture_on_commit_callbacks(execute=True):
        privacy_policy.policy_publish(policy_version=draft(2, material=True), actor=staff)
    assert batches == [2, 2, 1]  # 5 active users (4 + staff), 2 per batch
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([*(f"user{i}@example.com" for i in range(4)), "dpo@operator.example"])
    assert "Last Updated: January 15, 2026" in mail.outbox[0].subject
    policy = PolicyVersion.objects.get(version=2)
    assert policy.notified_count == 5 and policy.notified_at is not None
    notice = Notice.objects.get(dedupe_key="privacy_policy:v2")
    assert notice.kind == "privacy_policy" and "delivery receipts" in notice.body
    # The task is idempotent: running it again e-mails nobody.
    assert policy_notifications.policy_notify_users(policy_version_id=policy.pk) == 0


def test_policy_e_mails_that_stop_part_way_resume_where_they_stopped(
    settings, seeded, staff, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core import mail as django_mail

    settings.PRIVACY_POLICY_EMAIL_BATCH_SIZE = 2
    for i in range(4):
        User.objects.create_user(email=f"user{i}@example.com", password="x" * 12)
    real_send_mass_mail = django_mail.send_mass_mail
    calls = {"n": 0}

    def flaky(messages, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionRefusedError("SMTP server down")
        return real_send_mass_mail(messages, **kwargs)

    monkeypatch.setattr(policy_notifications, "send_mass_mail", flaky)
    policy = draft(2, material=True)
    with django_capture_on_commit_callbacks(execute=True):  # the background task fails part-way
        privacy_policy.policy_publish(policy_version=policy, actor=staff)
    policy.refresh_from_db()
    assert policy.notified_count == 2 and policy.notified_at is None
    first_batch = sorted(m.to[0] for m in mail.outbox)

    # Too soon after publishing: the resume job leaves a run that may still be going alone.
    assert policy_notifications.policy_notifications_resume() == 0
    later = timezone.now() + timedelta(minutes=16)
    assert policy_notifications.policy_notifications_resume(now=later) == 3
    policy.refresh_from_db()
    assert policy.notified_count == 5 and policy.notified_at is not None
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == 5  # nobody twice
    assert set(first_batch) < set(recipients)
    assert policy_notifications.policy_notifications_resume(now=later) == 0


def test_a_resume_that_fails_again_tells_staff(
    settings, seeded, staff, django_capture_on_commit_callbacks, monkeypatch
):
    settings.OPS_ALERT_EMAILS = ["ops@operator.example"]

    def down(messages, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr(policy_notifications, "send_mass_mail", down)
    policy = draft(2, material=True)
    with django_capture_on_commit_callbacks(execute=True):  # the background task fails part-way
        privacy_policy.policy_publish(policy_version=policy, actor=staff)
    assert policy_notifications.policy_notifications_resume(now=timezone.now() + timedelta(minutes=16)) == 0
    [alert] = [m for m in mail.outbox if "not going out" in m.subject]
    assert "ops@operator.example" in alert.to


def test_non_material_change_emails_nobody_and_shows_no_banner(
    seeded, staff, owner_a, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=owner_a.pk).update(date_joined=timezone.now() - timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        privacy_policy.policy_publish(policy_version=draft(2, material=False), actor=staff)
    assert mail.outbox == []
    owner_a.refresh_from_db()
    assert policy_banner(_request_for(owner_a))["privacy_policy_pending"]() is None


def _request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_banner_shows_until_the_user_acknowledges(seeded, staff, owner_a, client_owner_a):
    User.objects.filter(pk=owner_a.pk).update(date_joined=timezone.now() - timedelta(days=30))
    privacy_policy.policy_publish(policy_version=draft(2, material=True), actor=staff)
    page = client_owner_a.get(reverse("privacy:centre")).content.decode()
    assert 'id="privacy-policy-banner"' in page
    response = client_owner_a.post(
        reverse("privacy:policy_acknowledge", args=[2]),
        {"next": "https://evil.example/"},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302 and response["Location"] == reverse("privacy:centre")
    ack = PolicyAcknowledgement.objects.get(user=owner_a)
    assert (ack.policy_version.version, ack.ip_address) == (2, "203.0.113.7")
    assert 'id="privacy-policy-banner"' not in client_owner_a.get(reverse("privacy:centre")).content.decode()
    # A second acknowledgement changes nothing.
    client_owner_a.post(reverse("privacy:policy_acknowledge", args=[2]))
    assert PolicyAcknowledgement.objects.filter(user=owner_a).count() == 1


def test_people_who_joined_after_the_change_see_no_banner(seeded, staff, owner_a):
    User.objects.filter(pk=owner_a.pk).update(date_joined=timezone.now() - timedelta(days=30))
    privacy_policy.policy_publish(policy_version=draft(2, material=True), actor=staff)
    newcomer = User.objects.create_user(email="new@example.com", password="x" * 12)
    owner_a.refresh_from_db()
    assert policy_banner(_request_for(owner_a))["privacy_policy_pending"]().version == 2
    assert policy_banner(_request_for(newcomer))["privacy_policy_pending"]() is None


def test_banner_context_costs_no_query_until_used_and_one_query_once(seeded, owner_a, django_assert_num_queries):
    with django_assert_num_queries(0):
        context = policy_banner(_request_for(owner_a))
    with django_assert_num_queries(1):
        context["privacy_policy_pending"]()
        context["privacy_policy_pending"]()


def test_publishing_out_of_order_or_twice_is_refused(seeded, staff):
    with pytest.raises(Conflict, match="already published"):
        privacy_policy.policy_publish(policy_version=seeded, actor=staff)
    privacy_policy.policy_publish(policy_version=draft(3, material=False), actor=staff)
    with pytest.raises(Conflict, match="Version 3 is already published"):
        privacy_policy.policy_publish(policy_version=draft(2, material=False), actor=staff)
