"""API: a signed-in person's own privacy requests. Another person's request answers 404; API keys are
refused."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from privacy.requests.models import DataSubjectRequest, RequestChannel, RequestStatus

pytestmark = pytest.mark.django_db

LIST = "/api/v1/privacy/requests"


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_post_creates_a_verified_request_for_the_signed_in_user(
    owner_a, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        response = session_client(owner_a).post(
            LIST, {"kind": "update", "requested_changes": {"full_name": "Ana Reyes"}}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    dsr = DataSubjectRequest.objects.get(pk=body["id"])
    assert (dsr.user, dsr.channel, dsr.status) == (owner_a, RequestChannel.API, RequestStatus.VERIFIED)
    assert body["reference"] == dsr.reference and body["status"] == "verified"
    assert body["requested_changes"] == {"full_name": "Ana Reyes"}
    assert body["band"] == "on_track" and 27 <= body["days_left"] <= 31
    assert [m.to for m in mailoutbox] == [[owner_a.email]]
    assert LIST.rstrip("/") == reverse("api_privacy_requests")


def test_bad_input_is_a_clear_error_and_nothing_is_stored(owner_a):
    client = session_client(owner_a)
    response = client.post(LIST, {"kind": "forget-me"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    response = client.post(LIST, {"kind": "object", "objections": ["astrology"]}, format="json")
    assert response.status_code == 400
    assert (
        response.json()["error"]["code"] == "invalid_objections" and "astrology" in response.json()["error"]["message"]
    )
    assert not DataSubjectRequest.objects.exists()


def test_get_returns_my_request_and_another_persons_is_404(owner_a, owner_b):
    mine = session_client(owner_a).post(LIST, {"kind": "access"}, format="json").json()
    theirs = session_client(owner_b).post(LIST, {"kind": "access"}, format="json").json()
    client = session_client(owner_a)
    assert client.get(f"{LIST}/{mine['id']}").json()["id"] == mine["id"]
    response = client.get(f"{LIST}/{theirs['id']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    missing = client.get(f"{LIST}/999999")
    assert missing.status_code == 404 and missing.json() == response.json()
    listed = client.get(LIST).json()
    assert [r["id"] for r in listed["results"]] == [mine["id"]]


def test_api_keys_and_anonymous_callers_are_refused(api_client_a, owner_a):
    created = session_client(owner_a).post(LIST, {"kind": "access"}, format="json").json()
    assert api_client_a.get(f"{LIST}/{created['id']}").status_code == 403
    assert api_client_a.post(LIST, {"kind": "access"}, format="json").status_code == 403
    assert APIClient().get(LIST).status_code in (401, 403)
    assert DataSubjectRequest.objects.count() == 1


def test_list_query_count_is_constant(owner_a, django_assert_max_num_queries):
    client = session_client(owner_a)
    for kind in ("access", "delete", "update"):
        payload = {"kind": kind, "requested_changes": {"full_name": "X"}} if kind == "update" else {"kind": kind}
        client.post(LIST, payload, format="json")
    with django_assert_max_num_queries(6):
        response = client.get(LIST)
    assert len(response.json()["results"]) == 3 and response.json()["next"] is None
