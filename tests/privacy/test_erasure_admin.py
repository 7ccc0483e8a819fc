"""Staff see and steer the data side in admin: erasures, exports, holds, retention, suppressions."""

import pytest

from privacy.data.erasure import erasure_job_create
from privacy.data.models import LegalHold, RetentionRule
from privacy.data.objections import suppression_add
from privacy.data.retention import retention_rules_ensure
from tests.privacy.data_helpers import ALICE_PHONE

pytestmark = pytest.mark.django_db(databases=["default", "erasure_ledger"])

PAGES = [
    "erasurejob",
    "erasuretask",
    "erasureledgerentry",
    "dataexport",
    "legalhold",
    "retentionrule",
    "purgelog",
    "suppression",
    "processingobjection",
]


@pytest.mark.parametrize("model", PAGES)
def test_admin_lists_open(admin_client, owner_a, model):
    erasure_job_create(subject_kind="user", user=owner_a)
    suppression_add(phone_number=ALICE_PHONE, source="staff")
    retention_rules_ensure()
    response = admin_client.get(f"/admin/privacy/{model}/")
    assert response.status_code == 200
    assert ALICE_PHONE.encode() not in response.content and b"owner@alpha.example</td>" not in response.content


def test_staff_place_a_hold_by_email_and_only_the_hash_is_stored(admin_client, admin_user):
    response = admin_client.post(
        "/admin/privacy/legalhold/add/",
        {"email": "alice@example.ph", "phone_number": "", "reason": "Subpoena 12"},
    )
    assert response.status_code == 302, response.content
    hold = LegalHold.objects.unscoped().get()
    assert len(hold.subject_hash) == 64 and hold.placed_by == admin_user and "alice" not in hold.subject_hash
    response = admin_client.post("/admin/privacy/legalhold/add/", {"reason": "nothing named"})
    assert response.status_code == 200 and b"exactly one" in response.content
    assert LegalHold.objects.unscoped().count() == 1


def test_staff_edit_a_retention_rule(admin_client, admin_user):
    retention_rules_ensure()
    rule = RetentionRule.objects.get(category="login_records")
    response = admin_client.post(
        f"/admin/privacy/retentionrule/{rule.pk}/change/",
        {
            "category": "login_records",
            "keep_days": 180,
            "enabled": "on",
            "public_description": "Half a year.",
        },
    )
    assert response.status_code == 302, response.content
    rule.refresh_from_db()
    assert rule.keep_days == 180 and rule.updated_by == admin_user
