"""Retention: each category purged exactly when past its rule, in batches, logged, holds respected, rules
public."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import APIRequestLog, LoginRecord
from messaging.models import Message, MessageStatus, WebhookDelivery, WebhookEndpoint
from privacy.data.export_archive import export_build, export_path
from privacy.data.legal_holds import legal_hold_place
from privacy.data.models import DataExport, ExportStatus, PurgeLog, RetentionCategory, RetentionRule, SubjectKind
from privacy.data.retention import retention_rules_ensure, retention_rules_public, retention_run
from privacy.requests.models import RequestStatus
from tests.privacy.data_helpers import (
    ALICE_PHONE,
    BOB_PHONE,
    make_api_log,
    make_login,
    make_message,
    make_request,
    private_root,  # noqa: F401  (fixture)
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("private_root"),
]

NOW = timezone.now()


def aged(obj, days: float, field: str = "created_at"):
    type(obj)._base_manager.filter(pk=obj.pk).update(**{field: NOW - timedelta(days=days)})
    return obj


@pytest.fixture
def rules(settings):
    settings.PRIVACY_RETENTION_DEFAULTS = {
        **settings.PRIVACY_RETENTION_DEFAULTS,
        "message_bodies": 90,
        "message_metadata": 730,
        "login_records": 365,
        "api_request_logs": 90,
        "webhook_delivery_logs": 30,
        "export_files": 14,
        "closed_requests": 1095,
        "closed_org_billing": 3653,
    }
    settings.PRIVACY_RETENTION_BATCH_SIZE = 2  # several batches even with a handful of rows


def test_each_category_is_purged_exactly_past_its_rule(rules, org_a, owner_a, django_capture_on_commit_callbacks):
    old_body = aged(make_message(org_a, ALICE_PHONE, "old text"), 90.01)
    fresh_body = aged(make_message(org_a, ALICE_PHONE, "recent text"), 89.99)
    queued_old = aged(make_message(org_a, ALICE_PHONE, "scheduled", status=MessageStatus.QUEUED), 120)
    ancient = aged(make_message(org_a, BOB_PHONE, "ancient"), 731)
    for _ in range(3):
        aged(make_login(owner_a), 366)
    new_login = aged(make_login(owner_a), 364)
    old_log, new_log = aged(make_api_log(owner_a, org_a), 91), aged(make_api_log(owner_a, org_a), 89)
    endpoint = WebhookEndpoint.objects.create(organization=org_a, url="https://hooks.example/x", secret="w")
    old_hook = aged(
        WebhookDelivery.objects.create(organization=org_a, endpoint=endpoint, payload={}, status="delivered"),
        31,
    )
    pending_hook = aged(WebhookDelivery.objects.create(organization=org_a, endpoint=endpoint, payload={}), 31)
    export = DataExport.objects.create(subject_kind=SubjectKind.USER, user=owner_a, email=owner_a.email)
    export_build(export_id=export.pk)
    export.refresh_from_db()
    aged(export, 15)
    closed = make_request(
        user=owner_a, status=RequestStatus.COMPLETED, full_name="Alice", closed_at=NOW - timedelta(days=1096)
    )
    open_old = make_request(user=owner_a, status=RequestStatus.IN_PROGRESS)
    aged(open_old, 2000, "received_at")

    out = StringIO()
    call_command("retention", "--dry-run", stdout=out)
    report = out.getvalue()
    assert "message_bodies: would purge 2 " in report  # old_body and ancient (final statuses only)
    assert "login_records: would purge 3 " in report and "api_request_logs: would purge 1 " in report
    assert "Dry run" in report and not PurgeLog.objects.exists()
    assert Message.objects.unscoped().get(pk=old_body.pk).body == "old text"

    results = {r.category: r for r in retention_run(now=NOW)}
    assert results[RetentionCategory.MESSAGE_BODIES].affected == 2
    assert Message.objects.unscoped().get(pk=old_body.pk).body == ""
    assert Message.objects.unscoped().get(pk=fresh_body.pk).body == "recent text"
    assert Message.objects.unscoped().get(pk=queued_old.pk).body == "scheduled"
    assert Message.objects.unscoped().get(pk=ancient.pk).recipient.startswith("h:")
    assert Message.objects.unscoped().get(pk=old_body.pk).recipient == ALICE_PHONE  # metadata is kept 730 days
    assert list(LoginRecord.objects.values_list("pk", flat=True)) == [new_login.pk]
    assert list(APIRequestLog.objects.unscoped().values_list("pk", flat=True)) == [new_log.pk] and old_log.pk
    assert list(WebhookDelivery.objects.unscoped().values_list("pk", flat=True)) == [pending_hook.pk] and old_hook.pk
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED and export.file_name == "" and export.email == ""
    assert not list(export_path(export).parent.glob("*.enc"))
    closed.refresh_from_db()
    open_old.refresh_from_db()
    assert closed.email.startswith("erased-request-") and closed.full_name == ""
    assert open_old.email == owner_a.email

    logs = {log.category: log for log in PurgeLog.objects.all()}
    assert set(logs) == set(RetentionCategory.values)
    assert logs["login_records"].rows_affected == 3 and logs["login_records"].finished_at is not None

    again = {r.category: r.affected for r in retention_run(now=NOW)}
    assert set(again.values()) == {0}  # idempotent


def test_legal_holds_keep_data_past_its_rule(rules, org_a, org_b, owner_a, admin_a):
    held_org_message = aged(make_message(org_b, BOB_PHONE, "Bravo old"), 100)
    held_person_message = aged(make_message(org_a, ALICE_PHONE, "to Alice"), 100)
    free_message = aged(make_message(org_a, BOB_PHONE, "Alpha old"), 100)
    held_login = aged(make_login(owner_a), 400)
    free_login = aged(make_login(admin_a), 400)  # org_a is not held, only owner_a
    legal_hold_place(reason="Litigation", actor=None, organization=org_b)
    legal_hold_place(reason="Complaint NPC-2026-9", actor=None, phone_number=ALICE_PHONE)
    legal_hold_place(reason="Investigation", actor=None, email=owner_a.email)

    results = {r.category: r for r in retention_run(now=NOW)}
    assert results["message_bodies"].affected == 1 and results["message_bodies"].held == 2
    assert Message.objects.unscoped().get(pk=free_message.pk).body == ""
    assert Message.objects.unscoped().get(pk=held_org_message.pk).body == "Bravo old"
    assert Message.objects.unscoped().get(pk=held_person_message.pk).body == "to Alice"
    assert LoginRecord.objects.filter(pk=held_login.pk).exists()
    assert not LoginRecord.objects.filter(pk=free_login.pk).exists()
    assert PurgeLog.objects.get(category="message_bodies").rows_held == 2


def test_staff_rules_override_defaults_and_are_public(rules, org_a):
    assert retention_rules_ensure() == len(RetentionCategory.values)
    assert retention_rules_ensure() == 0
    RetentionRule.objects.filter(category="message_bodies").update(keep_days=7, public_description="One week.")
    RetentionRule.objects.filter(category="login_records").update(enabled=False)
    message = aged(make_message(org_a, BOB_PHONE, "eight days"), 8)
    results = {r.category: r for r in retention_run(now=NOW)}
    assert Message.objects.unscoped().get(pk=message.pk).body == ""
    assert results["login_records"].skipped == "rule disabled"

    public = {rule.category: rule for rule in retention_rules_public()}
    assert public["message_bodies"].keep_days == 7 and public["api_request_logs"].keep_days == 90
    html = render_to_string("privacy/data/_retention_table.html", {"retention_rules": retention_rules_public()})
    assert (
        "Message bodies" in html
        and "7 days" in html
        and "One week." in html
        and "Billing records of closed organizations" in html
        and "tax law" in html
    )


def test_defaults_are_used_without_rows(rules):
    assert not RetentionRule.objects.exists()
    public = {rule.category: rule.keep_days for rule in retention_rules_public()}
    assert public == {
        "message_bodies": 90,
        "message_metadata": 730,
        "login_records": 365,
        "api_request_logs": 90,
        "webhook_delivery_logs": 30,
        "export_files": 14,
        "closed_requests": 1095,
        "closed_org_billing": 3653,
        # Every area of the registry has a rule (request correspondence, codes, inquiries, audit details, accounts).
        "request_correspondence": 1095,
        "otp_records": 30,
        "contact_inquiries": 730,
        "audit_extra_data": 730,
        "dormant_accounts": 1095,
    }


def test_billing_of_a_closed_organization_goes_after_the_tax_period_and_the_ledger_still_balances(rules, org_a, org_b):
    from decimal import Decimal

    from accounts.models import Organization, OrganizationStatus
    from accounts.services import organization_close
    from billing.models import CreditAccount, LedgerEntry, Payment, Receipt
    from billing.selectors import billing_audit_differences
    from billing.services import credits_adjust, payment_record

    third = Organization.objects.create(name="Charlie Shop", slug="charlie")
    for organization in (org_a, org_b, third):
        payment_record(organization=organization, actor=None, method="gcash", amount_php=Decimal("100.00"))
        credits_adjust(organization=organization, actor=None, amount=Decimal("5.00"), reason="bonus")
    for organization in (org_a, third):
        organization_close(organization=organization, actor_membership=None, reason="owner left")
    eleven_years_ago = NOW - timedelta(days=11 * 366)
    for model, field in ((LedgerEntry, "created_at"), (Payment, "created_at"), (Receipt, "issued_at")):
        model.objects.filter(organization__in=[org_a, org_b]).update(**{field: eleven_years_ago})
    # Third is closed but its last transaction is recent; org_b is old but still open.

    results = {r.category: r for r in retention_run(now=NOW)}
    assert results["closed_org_billing"].affected > 0
    assert not LedgerEntry.objects.unscoped().filter(organization=org_a).exists()
    assert not CreditAccount.objects.unscoped().filter(organization=org_a).exists()
    assert not Receipt.objects.unscoped().filter(organization=org_a).exists()
    assert LedgerEntry.objects.unscoped().filter(organization=org_b).count() == 2
    assert LedgerEntry.objects.unscoped().filter(organization=third).count() == 2
    assert Organization.objects.get(pk=org_a.pk).status == OrganizationStatus.CLOSED
    assert billing_audit_differences() == []


def test_a_hold_on_a_closed_organization_keeps_its_billing(rules, org_a):
    from decimal import Decimal

    from accounts.services import organization_close
    from billing.models import LedgerEntry
    from billing.services import credits_adjust

    credits_adjust(organization=org_a, actor=None, amount=Decimal("5.00"), reason="bonus")
    organization_close(organization=org_a, actor_membership=None, reason="owner left")
    LedgerEntry.objects.unscoped().filter(organization=org_a).update(created_at=NOW - timedelta(days=4000))
    legal_hold_place(reason="BIR audit", actor=None, organization=org_a)
    results = {r.category: r for r in retention_run(now=NOW)}
    assert results["closed_org_billing"].held == 1
    assert LedgerEntry.objects.unscoped().filter(organization=org_a).exists()
