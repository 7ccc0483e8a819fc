"""Retention covers everything the registry knows (request correspondence, one-time codes, contact inquiries,
audit details, dormant accounts), each rule is on the policy page, and the personal-data check fails closed."""

from datetime import timedelta

import pytest
from django.core import checks, mail
from django.db import models
from django.test.utils import isolate_apps
from django.utils import timezone

from accounts.models import AuditLog, User
from messaging.models import OtpChallenge
from privacy import checks as privacy_checks
from privacy.data.legal_holds import legal_hold_place
from privacy.data.models import DormancyNotice, ErasureJob, RetentionCategory, SubjectKind
from privacy.data.registry import Registry, registry
from privacy.data.retention import retention_rules_public, retention_run
from privacy.data.retention_coverage import COVERED_BY, NO_RULE_NEEDED, uncovered
from privacy.requests.models import ContactInquiry, InquiryStatus, RequestMessage, RequestStatus
from tests.privacy.data_helpers import ALICE_PHONE, make_request

pytestmark = pytest.mark.django_db

NOW = timezone.now()
NEW_CATEGORIES = ["request_correspondence", "otp_records", "contact_inquiries", "audit_extra_data", "dormant_accounts"]


def _aged(model, pk, days, field="created_at"):
    model._base_manager.filter(pk=pk).update(**{field: NOW - timedelta(days=days)})


def test_every_registry_table_has_a_retention_rule_or_a_reason():
    assert uncovered(registry().entries) == []
    assert set(COVERED_BY) == set(RetentionCategory.values)
    assert all(len(reason) > 20 for reason in NO_RULE_NEEDED.values())
    assert uncovered(["privacy.NewTableWithEmails"]) == ["privacy.NewTableWithEmails"]


def test_the_check_fails_for_a_registry_table_without_a_rule(monkeypatch):
    monkeypatch.setitem(COVERED_BY, RetentionCategory.OTP_RECORDS, ())
    ids = [message.id for message in privacy_checks.personal_data_check()]
    assert "privacy.E006" in ids


@isolate_apps("billing")
def test_a_new_model_of_a_project_app_fails_whatever_its_field_names():
    class TopUpPromotion(models.Model):  # noqa: DJ008
        code = models.CharField(max_length=20)
        starts = models.DateField()

        class Meta:
            app_label = "billing"

    assert privacy_checks.personal_fields(TopUpPromotion) == []  # nothing looks personal...
    reg = Registry(entries={}, excluded={}, sources={})
    errors = [m for m in privacy_checks.check_models([TopUpPromotion], reg) if m.level >= checks.ERROR]
    assert [e.id for e in errors] == ["privacy.E005"]  # ...and it still fails until classified
    excluded = Registry(entries={}, excluded={"billing.TopUpPromotion": "Promotion codes, no person."}, sources={})
    assert privacy_checks.check_models([TopUpPromotion], excluded) == []


def test_the_new_rules_are_on_the_policy_page(client):
    public = {rule.category: rule for rule in retention_rules_public()}
    assert set(NEW_CATEGORIES) <= set(public)
    html = client.get("/privacy/policy/")
    if html.status_code == 200:  # no policy published in this test: the table is tested through the selector
        assert "Dormant accounts" in html.content.decode()
    assert "anonymised" in public["dormant_accounts"].action


def test_correspondence_codes_inquiries_and_audit_details_are_purged_past_their_rules(org_a, owner_a):
    closed = make_request(user=owner_a, status=RequestStatus.COMPLETED, closed_at=NOW - timedelta(days=1100))
    message = RequestMessage.objects.create(
        request=closed, kind="completion", recipients=[owner_a.email], subject="Done", body="Dear Ana, done."
    )
    open_request = make_request(user=owner_a)
    kept_message = RequestMessage.objects.create(request=open_request, kind="ack", recipients=["x@y.ph"], body="Hi")
    otp = OtpChallenge.objects.create(organization=org_a, phone_number=ALICE_PHONE, code_hash="x" * 64, expires_at=NOW)
    _aged(OtpChallenge, otp.pk, 31)
    answered = ContactInquiry.objects.create(
        full_name="Ana",
        email="ana@example.ph",
        subject="Hi",
        message="Call me",
        status=InquiryStatus.ANSWERED,
        due_at=NOW,
    )
    _aged(ContactInquiry, answered.pk, 731, field="received_at")
    still_open = ContactInquiry.objects.create(
        full_name="B", email="b@example.ph", subject="x", message="y", due_at=NOW
    )
    _aged(ContactInquiry, still_open.pk, 900, field="received_at")
    audit = AuditLog.objects.create(organization=org_a, event_type="invitation.created", extra_data={"email": "a@b.ph"})
    _aged(AuditLog, audit.pk, 731)

    results = {r.category: r for r in retention_run(now=NOW, categories=NEW_CATEGORIES)}
    assert results["request_correspondence"].affected == 1
    message.refresh_from_db()
    assert (message.recipients, message.body) == ([], "") and message.kind == "completion"
    assert RequestMessage.objects.get(pk=kept_message.pk).body == "Hi"
    assert not OtpChallenge._base_manager.filter(pk=otp.pk).exists()
    assert not ContactInquiry.objects.filter(pk=answered.pk).exists()
    assert ContactInquiry.objects.filter(pk=still_open.pk).exists()  # never before it is answered
    assert AuditLog._base_manager.get(pk=audit.pk).extra_data == {}


def test_a_dormant_account_gets_a_notice_then_is_anonymised_unless_held(
    settings, owner_a, developer_a, django_capture_on_commit_callbacks
):
    settings.PRIVACY_DORMANT_NOTICE_DAYS = 30
    User.objects.filter(pk__in=[owner_a.pk, developer_a.pk]).update(last_login=NOW - timedelta(days=1070))
    legal_hold_place(reason="Litigation", actor=None, email=developer_a.email, area="accounts")

    with django_capture_on_commit_callbacks(execute=True):
        first = {r.category: r for r in retention_run(now=NOW, categories=["dormant_accounts"])}
    assert first["dormant_accounts"].prepared == 1 and first["dormant_accounts"].affected == 0
    [notice] = [m for m in mail.outbox if m.subject == "Your account will be anonymised"]
    assert notice.to == [owner_a.email]
    assert DormancyNotice.objects.filter(user=owner_a).count() == 1
    retention_run(now=NOW, categories=["dormant_accounts"])  # nobody is told twice
    assert DormancyNotice.objects.count() == 1

    later = NOW + timedelta(days=31)
    DormancyNotice.objects.update(notified_at=NOW)
    second = {r.category: r for r in retention_run(now=later, categories=["dormant_accounts"])}
    assert second["dormant_accounts"].affected == 1
    job = ErasureJob.objects.get(user=owner_a)
    assert job.subject_kind == SubjectKind.USER
    assert not ErasureJob.objects.filter(user=developer_a).exists()  # held


def test_signing_in_again_ends_the_dormancy(settings, owner_a):
    User.objects.filter(pk=owner_a.pk).update(last_login=NOW - timedelta(days=1070))
    retention_run(now=NOW, categories=["dormant_accounts"])
    User.objects.filter(pk=owner_a.pk).update(last_login=NOW)
    retention_run(now=NOW + timedelta(days=60), categories=["dormant_accounts"])
    assert not ErasureJob.objects.filter(user=owner_a).exists()
