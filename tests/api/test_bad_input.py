"""Bad input answers 400 with the error shape (API) or a 400 page / form error (pages), never a server error."""

from datetime import datetime

import pytest
from django.test import override_settings
from django.urls import reverse

from messaging.selectors import MessageFilters
from portal.timezone import operator_tz


def _error(response, parameter):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert parameter in error["details"], error
    return error


@pytest.mark.parametrize("name", ["created_to", "created_from"])
def test_an_impossible_date_in_the_api_filter_is_a_400_naming_the_parameter(api_client_a, name):
    _error(api_client_a.get("/api/v1/messages", {name: "2026-02-30"}), name)


def test_an_impossible_datetime_in_the_api_filter_is_a_400(api_client_a):
    _error(api_client_a.get("/api/v1/messages", {"created_from": "2026-01-01T25:61:00"}), "created_from")


def test_an_impossible_date_on_the_log_page_is_a_400_page(client_owner_a):
    response = client_owner_a.get(reverse("messaging:log"), {"created_to": "2026-02-30"})
    assert response.status_code == 400
    assert b"created_to" in response.content


def test_an_impossible_date_in_the_csv_export_is_a_form_error(client_owner_a):
    response = client_owner_a.get(reverse("messaging:export"), {"created_to": "2026-02-30"})
    assert response.status_code in (302, 400)
    follow = client_owner_a.get(response["Location"]) if response.status_code == 302 else response
    assert b"created_to" in follow.content


def test_a_date_only_upper_bound_means_the_whole_day_in_manila():
    filters = MessageFilters.from_params({"created_to": "2026-10-30", "created_from": "2026-10-30"})
    assert filters.created_to == datetime(2026, 10, 30, 23, 59, 59, 999999, tzinfo=operator_tz())
    assert filters.created_from == datetime(2026, 10, 30, 0, 0, tzinfo=operator_tz())


@pytest.mark.parametrize("page_size", ["0", "201", "-5", "abc", "99999999999999999999999"])
def test_a_page_size_out_of_bounds_is_a_400(api_client_a, page_size):
    _error(api_client_a.get("/api/v1/messages", {"page_size": page_size}), "page_size")


def test_a_deeply_nested_json_body_is_a_400(api_client_a):
    body = "[" * 100_000 + "]" * 100_000
    response = api_client_a.post("/api/v1/messages", data=body, content_type="application/json")
    _error(response, "body")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_size_limit_answers_the_json_error_shape(api_client_a):
    body = '{"to": ["+639171234567"], "body": "' + "x" * 5000 + '"}'
    response = api_client_a.post("/api/v1/messages", data=body, content_type="application/json")
    _error(response, "body")


def test_an_overflowing_message_id_in_the_status_poll_is_a_400(client_owner_a):
    response = client_owner_a.get(reverse("messaging:statuses"), {"ids": "99999999999999999999999"})
    assert response.status_code == 400


def test_a_non_numeric_message_id_in_the_status_poll_is_a_400(client_owner_a):
    response = client_owner_a.get(reverse("messaging:statuses"), {"ids": "1,abc"})
    assert response.status_code == 400


def test_a_duplicated_query_parameter_is_a_400(api_client_a):
    _error(api_client_a.get("/api/v1/messages?status=sent&status=failed"), "status")


def test_an_api_address_no_route_matches_answers_the_json_error_shape(api_client_a):
    response = api_client_a.get("/api/v1/messages/null,null")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_out_of_range_before_id_is_a_400(api_client_a):
    response = api_client_a.get("/api/v1/billing/ledger", {"before": str(2**63)})
    assert response.status_code == 400
    assert "before" in response.json()["error"]["details"]
