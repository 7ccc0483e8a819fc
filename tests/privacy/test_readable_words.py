"""People read words, never codes: a request's history says "Your data export started", not "Export_started", and
an e-mail greets the person by name or not at all (never "Hello ,")."""

import pytest
from django.core import mail
from django.urls import reverse

from privacy.requests import intake
from privacy.requests.models import RequestChannel, RequestEvent, RequestKind
from privacy.templatetags.privacy_labels import EVENT_LABELS, event_label


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def test_every_history_code_has_words():
    assert event_label("export_started") == "Your data export started"
    assert event_label("a_code_added_later") == "A code added later"  # never the raw code with underscores
    assert all("_" not in label for label in EVENT_LABELS.values())


def test_the_request_page_shows_readable_history(commit, client_owner_a, owner_a, client_owner_b):
    dsr, _ = commit(intake.request_submit, kind=RequestKind.ACCESS, email="", channel="privacy_centre", user=owner_a)
    RequestEvent.objects.create(request=dsr, action="export_started", from_status="verified", to_status="verified")
    html = client_owner_a.get(reverse("privacy:my_request", args=[dsr.pk])).content.decode()
    assert "Request received" in html and "Identity confirmed" in html and "Your data export started" in html
    assert "Export_started" not in html and "export_started" not in html
    assert "Verified → Verified" not in html and "Submitted → Submitted" not in html
    assert client_owner_b.get(reverse("privacy:my_request", args=[dsr.pk])).status_code == 404


@pytest.mark.parametrize(("full_name", "greeting"), [("Juan dela Cruz", "Hello Juan dela Cruz,\n"), ("", None)])
def test_acknowledgement_greets_by_name_or_not_at_all(commit, db, full_name, greeting):
    commit(
        intake.request_submit,
        kind=RequestKind.ACCESS,
        email="juan@example.com",
        channel=RequestChannel.PUBLIC_FORM,
        full_name=full_name,
    )
    [acknowledgement] = [m for m in mail.outbox if "juan@example.com" in m.to]
    assert "Hello ," not in acknowledgement.body and "Hello  " not in acknowledgement.body
    if greeting:
        assert acknowledgement.body.startswith(greeting)
    else:
        assert acknowledgement.body.startswith("We received your privacy request")
