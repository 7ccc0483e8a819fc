"""List pages run the same number of queries whatever the number of rows (no query per row)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import LoginRecord
from accounts.roles import Role
from accounts.services import api_key_create
from tests.conftest import make_member


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def add_keys(org, owner, count, start):
    for i in range(count):
        api_key_create(organization=org, actor=owner, name=f"key {start + i}")


def add_logins(user, count):
    LoginRecord.objects.bulk_create(
        [
            LoginRecord(user=user, succeeded=bool(i % 2), ip_address="192.0.2.1", browser="Firefox 1")
            for i in range(count)
        ]
    )


def add_members(org, count, start):
    for i in range(count):
        make_member(org, f"m{start + i}@alpha.example", Role.VIEWER)


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        ("/organization/api-keys/", lambda org, owner, n, start: add_keys(org, owner, n, start)),
        ("/account/sign-ins/", lambda org, owner, n, start: add_logins(owner, n)),
        ("/organization/members/", lambda org, owner, n, start: add_members(org, n, start)),
    ],
)
def test_list_pages_do_not_query_per_row(login_as, owner_a, org_a, org_b, owner_b, url, grow):
    client = login_as(owner_a, org_a)
    grow(org_a, owner_a, 2, 0)
    client.get(url)  # warm what is cached across requests (the plan's rate limits): only per-row queries count
    few = queries_for(client, url)
    grow(org_a, owner_a, 20, 100)
    grow(org_b, owner_b, 5, 200)  # the other organization's rows change nothing either
    assert queries_for(client, url) == few
