"""Access exports: every category, nothing of anyone else, encrypted at rest, a 7-day link for the owner or the
token holder only, every download logged, bounded memory."""

import csv
import io
import json
import re
import tracemalloc
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership
from portal.encrypted_files import MAGIC, decrypt_stream
from portal.errors import ApplicationError, NotFound
from portal.personal_data import Category
from privacy.data.export import export_create, export_download
from privacy.data.export_archive import export_build, export_path
from privacy.data.models import DataExport, DataExportDownload, ExportStatus, ProcessingKind, SubjectKind
from privacy.data.objections import processing_objection_add
from privacy.requests.fulfilment import export_start
from tests.privacy.data_helpers import (
    ALICE_PHONE,
    BOB_PHONE,
    RECIPIENT_PHONE,
    make_login,
    make_message,
    make_request,
    populate_person,
    private_root,  # noqa: F401  (fixture)
    unzip,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("private_root"),
]

CATEGORY_FILES = {f"{c}.json" for c in Category.values}


def csv_tables(files: dict[str, bytes], category: str) -> dict[str, list[dict[str, str]]]:
    """The category's CSV files (one per table with records), each as its records keyed by the header line."""
    return {
        name: list(csv.DictReader(io.StringIO(text.decode(), newline="")))
        for name, text in files.items()
        if name.startswith(f"{category}/") and name.endswith(".csv")
    }


def _build(django_capture_on_commit_callbacks, **kwargs) -> DataExport:
    with django_capture_on_commit_callbacks(execute=True):
        export = export_create(**kwargs)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.last_error
    return export


def _archive(export, user) -> dict[str, bytes]:
    _, chunks = export_download(export_id=export.pk, token_or_user=user, ip="192.0.2.1")
    return unzip(b"".join(chunks))


def _link_mail():
    links = [m for m in mail.outbox if m.subject == "Your personal data export is ready"]
    assert links, [m.subject for m in mail.outbox]
    return links[-1]


def _token_from_mail() -> tuple[int, str]:
    match = re.search(r"/privacy/data/exports/(\d+)/download/([^/\s]+)/", _link_mail().body)
    assert match, _link_mail().body
    return int(match.group(1)), match.group(2)


def test_the_export_holds_every_category_and_nothing_of_anyone_else(
    django_capture_on_commit_callbacks, org_a, org_b, owner_a, developer_a, owner_b
):
    owner_a.phone_number = ALICE_PHONE
    owner_a.save()
    populate_person(owner_a, org_a, org_b)
    populate_person(developer_a, org_a, phone=BOB_PHONE)  # someone else in the same organization
    processing_objection_add(user=owner_a, processing=ProcessingKind.MARKETING_EMAIL)

    export = _build(
        django_capture_on_commit_callbacks,
        subject_kind=SubjectKind.USER,
        user=owner_a,
        email=owner_a.email,
        phone_number=ALICE_PHONE,
    )
    files = _archive(export, owner_a)
    assert CATEGORY_FILES | {"README.txt"} <= set(files)
    # Besides them, one CSV file per table with records in a category, named after the table.
    tables_with_csv = {name for name in files if name.endswith(".csv")}
    assert tables_with_csv == set(files) - CATEGORY_FILES - {"README.txt"}
    assert {
        "personal_information/accounts.User.csv",
        "usage_data/messaging.Message.csv",
        "account_information/accounts.Membership.csv",
    } <= tables_with_csv, tables_with_csv
    everything = b"".join(files.values()).decode()

    personal = json.loads(files["personal_information.json"])
    tables = {t["table"]: t for t in personal["tables"]}
    assert tables["accounts.User"]["rows"][0]["email"] == owner_a.email
    assert tables["accounts.User"]["rows"][0]["full_name"] == owner_a.full_name
    usage = {t["table"] for t in json.loads(files["usage_data.json"])["tables"]}
    assert {"accounts.APIRequestLog", "messaging.Message", "accounts.LoginRecord"} <= usage
    account = json.loads(files["account_information.json"])
    memberships = next(t for t in account["tables"] if t["table"] == "accounts.Membership")
    assert [row["organization__name"] for row in memberships["rows"]] == ["Alpha Retail"]
    assert any(t["table"] == "privacy.ProcessingObjection" for t in account["tables"])
    technical = json.loads(files["technical_data.json"])
    assert "203.0.113.7" in json.dumps(technical) and "Firefox 128" in json.dumps(technical)
    # Messages to the person's number from both organizations, each with the sender's name.
    assert "Clinic appointment tomorrow" in everything and "Bravo Clinic" in everything

    # Nothing of the colleague, nothing of the people the person sent messages to, no secrets.
    assert developer_a.email not in everything
    assert "Sent by the user to Bob" not in everything and BOB_PHONE not in everything
    assert owner_a.password not in everything
    assert "key_hash" not in everything and "code_hash" not in everything

    readme = files["README.txt"].decode()
    for name in CATEGORY_FILES | tables_with_csv:
        assert name in readme, name
    # A spreadsheet's layout: a header line naming the columns, then one line per record (the JSON's, same values).
    user_csv = files["personal_information/accounts.User.csv"].decode()
    header = user_csv.split("\r\n", 1)[0].split(",")
    assert header == ["record_id", *tables["accounts.User"]["columns"]]
    users = csv_tables(files, "personal_information")["personal_information/accounts.User.csv"]
    assert [(row["record_id"], row["email"], row["full_name"]) for row in users] == [
        (str(owner_a.pk), owner_a.email, owner_a.full_name)
    ]
    messages_csv = csv_tables(files, "usage_data")["usage_data/messaging.Message.csv"]
    messages_json = next(t for t in json.loads(files["usage_data.json"])["tables"] if t["table"] == "messaging.Message")
    assert [row["record_id"] for row in messages_csv] == [str(row["record_id"]) for row in messages_json["rows"]]
    assert [row["body"] for row in messages_csv] == [row["body"] for row in messages_json["rows"]]
    assert export.row_counts["personal_information"] >= 1


def test_a_recipient_gets_every_message_to_their_number_across_organizations(
    django_capture_on_commit_callbacks, org_a, org_b
):
    make_message(org_a, RECIPIENT_PHONE, "Alpha: your parcel is out for delivery")
    make_message(org_b, "09175550101", "Bravo: see you at 9")
    make_message(org_b, BOB_PHONE, "Bravo to someone else")
    request = make_request(email="recipient@example.ph", phone_number=RECIPIENT_PHONE, verification_method="sms")
    with django_capture_on_commit_callbacks(execute=True):
        export = export_start(request=request)
    export.refresh_from_db()
    assert export.subject_kind == SubjectKind.RECIPIENT and export.status == ExportStatus.READY
    message_id, token = _token_from_mail()
    assert _link_mail().to == ["recipient@example.ph"]
    _, chunks = export_download(export_id=message_id, token_or_user=token, ip=None)
    files = unzip(b"".join(chunks))
    usage = json.loads(files["usage_data.json"])
    messages = next(t for t in usage["tables"] if t["table"] == "messaging.Message")
    assert sorted((r["organization__name"], r["body"]) for r in messages["rows"]) == [
        ("Alpha Retail", "Alpha: your parcel is out for delivery"),
        ("Bravo Clinic", "Bravo: see you at 9"),
    ]
    assert b"Bravo to someone else" not in b"".join(files.values())


@pytest.mark.parametrize("verification_method", ["email", "account"])
def test_a_number_nobody_proved_exports_no_messages(
    django_capture_on_commit_callbacks, verification_method, org_a, org_b, owner_a
):
    # Typing someone else's number into the form or the profile must not hand over their messages.
    make_message(org_b, RECIPIENT_PHONE, "Bravo: your code is 123456")
    user = owner_a if verification_method == "account" else None
    request = make_request(
        email="attacker@example.ph", user=user, phone_number=RECIPIENT_PHONE, verification_method=verification_method
    )
    with django_capture_on_commit_callbacks(execute=True):
        export = export_start(request=request)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.phone_number == ""
    plain = b"".join(decrypt_stream(export_path(export)))
    assert b"your code is 123456" not in plain


def test_the_file_is_encrypted_at_rest_and_decrypts(django_capture_on_commit_callbacks, org_a, owner_a):
    make_login(owner_a)
    export = _build(
        django_capture_on_commit_callbacks, subject_kind=SubjectKind.USER, user=owner_a, email=owner_a.email
    )
    stored = export_path(export).read_bytes()
    assert stored.startswith(MAGIC)
    assert owner_a.email.encode() not in stored and b"203.0.113.7" not in stored and b"PK\x03\x04" not in stored
    plain = b"".join(decrypt_stream(export_path(export)))
    assert plain.startswith(b"PK") and owner_a.email in unzip(plain)["personal_information.json"].decode()
    assert str(export_path(export)).startswith(str(private_root_path(export)))


def private_root_path(export):
    from django.conf import settings

    return settings.PRIVATE_STORAGE_ROOT


def test_the_link_needs_the_owner_or_the_token_expires_after_7_days_and_logs_downloads(
    django_capture_on_commit_callbacks, client, org_a, owner_a, developer_a
):
    export = _build(
        django_capture_on_commit_callbacks, subject_kind=SubjectKind.USER, user=owner_a, email=owner_a.email
    )
    export_id, token = _token_from_mail()
    assert export_id == export.pk and _link_mail().to == [owner_a.email]
    assert token not in export.token_hash

    # Nobody signed in, someone else, a wrong token: the same 404.
    owner_url = f"/privacy/data/exports/{export.pk}/download/"
    assert client.get(owner_url).status_code == 302  # to sign-in
    client.force_login(developer_a)
    assert client.get(owner_url).status_code == 404
    assert client.get(f"{owner_url}{token[:-2]}xx/").status_code == 404
    assert not DataExportDownload.objects.exists()

    # The owner, signed in; and anyone with the secret link.
    client.force_login(owner_a)
    response = client.get(owner_url, HTTP_USER_AGENT="OwnerBrowser/1.0", REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert "personal_information.json" in unzip(b"".join(response.streaming_content))
    client.logout()
    response = client.get(f"{owner_url}{token}/", HTTP_USER_AGENT="Phone/2.0", REMOTE_ADDR="192.0.2.11")
    assert response.status_code == 200 and response["Referrer-Policy"] == "no-referrer"
    b"".join(response.streaming_content)
    downloads = list(DataExportDownload.objects.order_by("downloaded_at", "id"))
    assert [(d.user_id, d.via_token, d.ip_address, d.user_agent) for d in downloads] == [
        (owner_a.pk, False, "192.0.2.10", "OwnerBrowser/1.0"),
        (None, True, "192.0.2.11", "Phone/2.0"),
    ]

    # Seven days later, the link is dead for everyone.
    assert export.expires_at - export.ready_at == timedelta(days=7)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"{owner_url}{token}/")
    assert response.status_code == 410 and b"expired" in response.content
    with pytest.raises(ApplicationError) as excinfo:
        export_download(export_id=export.pk, token_or_user=owner_a, ip=None)
    assert excinfo.value.status == 410
    assert DataExportDownload.objects.count() == 2
    with pytest.raises(NotFound):
        export_download(export_id=export.pk + 999, token_or_user=token, ip=None)


def test_the_owner_sees_their_exports(django_capture_on_commit_callbacks, client, org_a, owner_a, developer_a):
    mine = _build(django_capture_on_commit_callbacks, subject_kind=SubjectKind.USER, user=owner_a, email=owner_a.email)
    _build(
        django_capture_on_commit_callbacks,
        subject_kind=SubjectKind.USER,
        user=developer_a,
        email=developer_a.email,
    )
    client.force_login(owner_a)
    response = client.get("/privacy/data/exports/")
    assert response.status_code == 200
    assert [e.pk for e in response.context["exports"]] == [mine.pk]
    assert f"/privacy/data/exports/{mine.pk}/download/".encode() in response.content


def test_a_large_export_streams_in_bounded_memory(django_capture_on_commit_callbacks, settings, org_a, owner_a):
    from messaging.models import Message

    settings.PRIVACY_EXPORT_CHUNK_SIZE = 200
    base = make_message(org_a, RECIPIENT_PHONE, "x")
    # Long enough that what is written (one JSON record and one CSV line a message) dwarfs what one chunk holds.
    body = "Reminder: your appointment is tomorrow. " * 12
    Message.objects.bulk_create(
        [
            Message(
                organization=org_a,
                recipient=RECIPIENT_PHONE,
                body=f"{i} {body}",
                network="smart",
                sender_name="ALPHA",
                encoding="gsm7",
                segments=2,
                channel="api",
                status="delivered",
            )
            for i in range(6000)
        ],
        batch_size=1000,
    )
    export = DataExport.objects.create(subject_kind=SubjectKind.RECIPIENT, phone_number=RECIPIENT_PHONE)
    tracemalloc.start()
    export_build(export_id=export.pk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    export.refresh_from_db()
    assert export.status == ExportStatus.READY
    assert export.row_counts["usage_data"] == 6001 and base.pk
    plain = b"".join(decrypt_stream(export_path(export)))
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        uncompressed = sum(info.file_size for info in archive.infolist())
        tables = json.loads(archive.read("usage_data.json"))["tables"]
        rows = next(t for t in tables if t["table"] == "messaging.Message")["rows"]
    # Building never held the archive (or the rows) in memory: the peak stays a fraction of the data written.
    assert uncompressed > 7_000_000, uncompressed
    assert peak < uncompressed / 3, (peak, uncompressed)
    assert len(rows) == 6001


def test_a_failed_build_is_recorded_and_reported(django_capture_on_commit_callbacks, monkeypatch, owner_a):
    from privacy.data import export_archive as export_module
    from privacy.requests.models import FulfilmentStep

    request = make_request(user=owner_a)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fails while the first category is read: the archive's partial file and the CSV's spool are both removed.
    monkeypatch.setattr(export_module, "section_records", broken)
    with django_capture_on_commit_callbacks(execute=True):
        export = export_start(request=request)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "disk full" in export.last_error
    assert FulfilmentStep.objects.get(request=request, step="export").status == "failed"
    assert not list(export_path(export).parent.glob("*.part"))
    monkeypatch.undo()
    export_build(export_id=export.pk)  # staff "build again"
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.attempts == 2
    assert FulfilmentStep.objects.get(request=request, step="export").status == "succeeded"


def test_membership_of_other_people_is_not_exported(django_capture_on_commit_callbacks, org_a, owner_a, admin_a):
    export = _build(
        django_capture_on_commit_callbacks, subject_kind=SubjectKind.USER, user=owner_a, email=owner_a.email
    )
    files = _archive(export, owner_a)
    assert admin_a.email.encode() not in b"".join(files.values())
    assert Membership.objects.unscoped().filter(organization=org_a).count() == 2
