"""An access export reads its records as a stream and writes the archive from a thread: stopping either early
leaves the database connection usable (the stream is stopped, the caller's transaction goes on) and no thread
behind; a write that fails fails the export, as one in the caller's thread did."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from messaging.models import Message
from portal.encrypted_files import ScratchFile
from portal.prefetch import WriterThread
from privacy.data.export_archive import export_build, export_path
from privacy.data.export_records import _columns, section_records, sections
from privacy.data.models import DataExport, ExportStatus, SubjectKind
from privacy.data.subjects import Subject
from tests.privacy.data_helpers import RECIPIENT_PHONE, make_message, private_root  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "writer"]


def test_records_stopped_early_leave_the_connection_usable(org_a):
    for index in range(5):
        make_message(org_a, RECIPIENT_PHONE, f"message {index}")
    subject = Subject.build(user_id=None, email="", phone=RECIPIENT_PHONE)
    section = next(s for s in sections(subject, "usage_data") if s.table == "messaging.Message")

    records = section_records(section, chunk_size=2)
    first = next(records)
    records.close()  # the rest of the query is never read

    assert len(first.ids) == 2
    assert Message.objects.for_organization(org_a).count() == 5
    # And the records read again, whole, from the start.
    assert sum(len(chunk.ids) for chunk in section_records(section, chunk_size=2)) == 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_sleep: a query still running when it is stopped")
def test_a_stream_stopped_while_the_query_runs_leaves_the_callers_transaction_usable(org_a):
    for index in range(4):
        make_message(org_a, RECIPIENT_PHONE, f"message {index}")
    # Rows slow to make and large enough that the server sends each as it is made (it sends when its buffer is full).
    slow = Message.objects.for_organization(org_a).annotate(
        slept=RawSQL("pg_sleep(0.2)", []), padding=RawSQL("repeat('x', 100000)", [])
    )

    with transaction.atomic():
        columns = _columns(slow.order_by("pk").values_list("pk", "slept", "padding"), chunk_size=1)
        assert len(next(columns)[0]) == 1
        columns.close()  # the database is still sleeping over the next rows: the query is cancelled

        assert Message.objects.for_organization(org_a).count() == 4


def test_a_write_that_fails_fails_the_export_and_stops_the_writer(monkeypatch, org_a):
    for index in range(3):
        make_message(org_a, RECIPIENT_PHONE, f"message {index}")

    def full(self, text):
        raise OSError("No space left on device")

    # Fails in the writer thread, while the first table's CSV lines go to their spool.
    monkeypatch.setattr(ScratchFile, "write", full)
    export = DataExport.objects.create(subject_kind=SubjectKind.RECIPIENT, phone_number=RECIPIENT_PHONE)
    export_build(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "No space left" in export.last_error
    assert not list(export_path(export).parent.glob("*.part"))
    assert not _writer_threads()
    monkeypatch.undo()
    assert export_build(export_id=export.pk).status == ExportStatus.READY  # "build again"


def test_the_writer_runs_calls_in_order_and_hands_back_the_first_error():
    done = []
    with WriterThread(ahead=1) as later:
        for number in range(50):
            later(done.append, number)
    assert done == list(range(50))

    def broken(number):
        raise ValueError(f"call {number}")

    with pytest.raises(ValueError, match="call 3"), WriterThread() as later:
        for number in range(50):
            later(broken if number == 3 else done.append, number)
    # Nothing after the failed call ran, and the thread is gone.
    assert done[50:] == [0, 1, 2]
    assert not _writer_threads()
