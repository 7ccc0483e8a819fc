"""Pages (not the API) when a request fails: a database that does not answer is a 503 with Retry-After and a page
that says to try again, rendered without touching the database; any other error is the site's 500 page."""

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse

from messaging import dashboard


@pytest.fixture
def failing_client(owner_a, org_a, login_as):
    client = login_as(owner_a, org_a)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_a_page_whose_database_does_not_answer_says_so_with_503(failing_client, monkeypatch, error):
    def unavailable(*args, **kwargs):
        raise error

    monkeypatch.setattr(dashboard.DashboardView, "get", unavailable)
    response = failing_client.get(reverse("dashboard"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Back in a moment" in page and "it was not saved" in page


def test_any_other_error_is_the_sites_500_page(failing_client, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(dashboard.DashboardView, "get", broken)
    response = failing_client.get(reverse("dashboard"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_the_503_page_is_rendered_without_asking_the_database(db, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(
        "django.contrib.sessions.backends.db.SessionStore.load", lambda self: (_ for _ in ()).throw(OperationalError())
    )
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32
    with django_assert_num_queries(0):
        response = client.get("/privacy/")
    assert response.status_code == 503
