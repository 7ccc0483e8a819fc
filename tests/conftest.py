"""Base fixtures: always two organizations, a user of each role in the first, an owner and a developer in the second."""

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.active_organization import ACTIVE_ORGANIZATION_SESSION_KEY
from accounts.api_usage import api_request_logs_discard
from accounts.models import Membership, Organization, User
from accounts.roles import Role
from accounts.services import api_key_create

PASSWORD = "correct-horse-battery-staple"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(
                pytest.mark.skipif(
                    connection.vendor != "postgresql",
                    reason="needs PostgreSQL (row locks / concurrency); set DATABASE_URL, CI runs it",
                )
            )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the sessions still open on it ended before it is dropped (PostgreSQL refuses to drop
    a database others are connected to, and the run ends with a warning and a database left behind). Seen: the first
    browser test of a worker leaves the connection the worker used before it open and idle to the end, while the
    tests go on with a new one; the live server's thread holds one until it stops."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: cached API keys and provider chains name rows of earlier tests."""
    cache.clear()


@pytest.fixture(autouse=True)
def _api_request_log_rows_dropped():
    """Rows of the API request log a test did not write are dropped when it ends: they name that test's rows."""
    yield
    api_request_logs_discard()


def make_user(email: str, **extra) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, **extra)

    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_member(organization: Organization, email: str, role: str) -> User:
    user = make_user(email, full_name=email.split("@")[0].title())
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def org_a(db) -> Organization:
    return Organization.objects.create(name="Alpha Retail", slug="alpha")


@pytest.fixture
def org_b(db) -> Organization:
    return Organization.objects.create(name="Bravo Clinic", slug="bravo")


@pytest.fixture
def owner_a(org_a) -> User:
    return make_member(org_a, "owner@alpha.example", Role.OWNER)


@pytest.fixture
def admin_a(org_a) -> User:
    return make_member(org_a, "admin@alpha.example", Role.ADMIN)


@pytest.fixture
def developer_a(org_a) -> User:
    return make_member(org_a, "dev@alpha.example", Role.DEVELOPER)


@pytest.fixture
def viewer_a(org_a) -> User:
    return make_member(org_a, "viewer@alpha.example", Role.VIEWER)


@pytest.fixture
def owner_b(org_b) -> User:
    return make_member(org_b, "owner@bravo.example", Role.OWNER)


@pytest.fixture
def developer_b(org_b) -> User:
    return make_member(org_b, "dev@bravo.example", Role.DEVELOPER)


@pytest.fixture
def api_key_a(org_a, developer_a):
    return api_key_create(organization=org_a, actor=developer_a, name="Alpha server")


@pytest.fixture
def api_key_b(org_b, developer_b):
    return api_key_create(organization=org_b, actor=developer_b, name="Bravo server")


def bearer_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api_client_a(api_key_a) -> APIClient:
    return bearer_client(api_key_a[1])


@pytest.fixture
def api_client_b(api_key_b) -> APIClient:
    return bearer_client(api_key_b[1])


def login_client(client_class, user: User, organization: Organization):
    client = client_class()
    client.force_login(user)
    session = client.session
    session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.id
    session.save()
    return client


@pytest.fixture
def login_as():
    """login_as(user, organization) -> a Django test Client signed in with that organization active."""
    return lambda user, organization: login_client(Client, user, organization)


@pytest.fixture
def client_owner_a(login_as, owner_a, org_a):
    return login_as(owner_a, org_a)


@pytest.fixture
def client_owner_b(login_as, owner_b, org_b):
    return login_as(owner_b, org_b)
