"""What every signed-in page reads: the membership once (with the switcher's list), the notices and the policy
versions from a cache of a few seconds that a change in this process drops at once."""

from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.roles import Role
from messaging.models import NoticeKind
from messaging.services.notices import notice_publish, notice_withdraw
from privacy import policy as privacy_policy
from privacy.models import PolicyVersion

BANNER = 'id="privacy-policy-banner"'


def statements(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_near_empty_page_reads_the_membership_once_and_no_notice_or_policy_once_warm(client_owner_a):
    url = reverse("messaging:webhook")
    client_owner_a.get(url)  # fills what is cached across requests
    sql = statements(client_owner_a, url)
    assert sum('FROM "accounts_membership"' in s for s in sql) == 1
    assert not any("messaging_notice" in s or "privacy_policy" in s for s in sql)
    # Session, user, membership with the switcher's list; the page's own two (endpoint, deliveries). Was 8.
    assert len(sql) == 5


def test_the_switcher_lists_every_organization_from_the_same_read(login_as, owner_a, org_a):
    other = Organization.objects.create(name="Zulu Freight", slug="zulu")
    Membership.objects.create(user=owner_a, organization=other, role=Role.VIEWER)
    client = login_as(owner_a, org_a)
    html = client.get(reverse("messaging:webhook")).content.decode()
    assert 'id="org-switcher"' in html and "Zulu Freight" in html and "(viewer)" in html
    assert client.post(reverse("organization_switch"), {"organization_id": other.pk}).status_code == 302
    html = client.get(reverse("dashboard")).content.decode()
    assert 'aria-expanded="false" id="org-switcher">Zulu Freight</a>' in html


def test_removed_from_the_sessions_organization_works_in_the_next_one_at_once(login_as, owner_a, org_a, org_b):
    Membership.objects.create(user=owner_a, organization=org_b, role=Role.VIEWER)
    client = login_as(owner_a, org_a)
    assert client.get(reverse("messaging:webhook")).context["organization"] == org_a
    Membership.objects.filter(user=owner_a, organization=org_a).delete()
    response = client.get(reverse("messaging:webhook"))
    assert response.context["organization"] == org_b
    assert client.session["active_organization_id"] == org_b.pk
    Membership.objects.filter(user=owner_a).delete()
    response = client.get(reverse("messaging:webhook"))
    assert response.status_code == 302 and response.url.endswith("/organizations/new/")


def test_a_notice_published_or_withdrawn_here_shows_or_goes_on_the_next_page(client_owner_a):
    url = reverse("messaging:webhook")
    assert "site-notice" not in client_owner_a.get(url).content.decode()  # "none" is now cached
    notice_publish(kind=NoticeKind.ANNOUNCEMENT, title="Maintenance tonight", body="Short.", dedupe_key="m1")
    assert "Maintenance tonight" in client_owner_a.get(url).content.decode()
    notice_withdraw(dedupe_key="m1")
    assert "Maintenance tonight" not in client_owner_a.get(url).content.decode()


def test_a_policy_published_here_shows_its_banner_on_the_next_page_until_acknowledged(client_owner_a, owner_a):
    User.objects.filter(pk=owner_a.pk).update(date_joined=timezone.now() - timedelta(days=30))
    privacy_policy.privacy_seed_policy()
    url = reverse("messaging:webhook")
    assert BANNER not in client_owner_a.get(url).content.decode()  # the versions are now cached
    staff = User.objects.create_user(email="dpo@operator.example", password="x" * 12, is_staff=True)
    version = PolicyVersion.objects.create(
        version=2,
        body_markdown="## 1. Introduction\n\nNew text.",
        last_updated=date(2026, 1, 15),
        effective_date=date(2026, 1, 15),
        material_change=True,
        summary_of_changes="We now keep delivery receipts for 90 days.",
    )
    privacy_policy.policy_publish(policy_version=version, actor=staff)
    assert BANNER in client_owner_a.get(url).content.decode()
    with CaptureQueriesContext(connection) as captured:
        client_owner_a.get(url)
    assert sum("privacy_policy" in q["sql"] for q in captured.captured_queries) == 1  # this person's, fresh
    client_owner_a.post(reverse("privacy:policy_acknowledge", args=[2]))
    assert BANNER not in client_owner_a.get(url).content.decode()
