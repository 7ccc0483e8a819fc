"""A page whose database stops answering shows "Back in a moment" (503), passes axe-core, and its "try again"
link brings the person back to the page once the database answers again."""

import pytest
from django.db import OperationalError
from playwright.sync_api import expect

from messaging import dashboard
from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser


def test_the_database_away_then_back(signed_in_page, owner_a, org_a, monkeypatch):
    page = signed_in_page(owner_a)
    real_get = dashboard.DashboardView.get

    def unavailable(*args, **kwargs):
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(dashboard.DashboardView, "get", unavailable)
    response = page.goto("/dashboard/")
    assert response.status == 503 and response.headers["retry-after"] == "5"
    expect(page.get_by_role("heading", name="Back in a moment")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path="/tmp/error-503.png", full_page=True)

    monkeypatch.setattr(dashboard.DashboardView, "get", real_get)  # the database answers again
    page.get_by_role("link", name="try again").click()
    page.wait_for_url("**/dashboard/")
    expect(page.get_by_role("heading", name="Back in a moment")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text(org_a.name)
