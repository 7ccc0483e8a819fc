"""Building an access export: a ZIP with one JSON and one CSV file per policy category plus a README, encrypted at rest.

The archive is written a chunk of records at a time (`export_records`: one server-side cursor per table, one read for
both files of a category) straight into the ZIP entry, and the ZIP is written straight into an encrypting writer:
the plaintext never touches the disk and memory stays bounded by one chunk whatever the size of the person's data.

Stored format (`*.zip.enc`): `portal.encrypted_files` (frames of Fernet tokens under the current
FIELD_ENCRYPTION_KEYS; `manage.py rotate_keys` re-encrypts them).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.csv_export import CELL, READY, csv_lines, safe_cell
from portal.encrypted_files import EncryptedChunkWriter, decrypt_stream, open_private
from portal.personal_data import CATEGORY_DESCRIPTIONS, Category
from privacy.data.export_records import section_records, sections
from privacy.data.models import DataExport, ExportStatus
from privacy.data.registry import registry
from privacy.data.reporting import report_to_request
from privacy.data.subjects import Subject, subject_for_export
from privacy.requests.models import FulfilmentStepKind, StepStatus

logger = logging.getLogger(__name__)


EXPORT_DIR = "privacy-exports"


def export_path(export: DataExport) -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT) / EXPORT_DIR / export.file_name


def export_file_delete(*, export: DataExport) -> None:
    if export.file_name:
        export_path(export).unlink(missing_ok=True)
    DataExport.objects.filter(pk=export.pk).update(file_name="", size_bytes=None, status=ExportStatus.EXPIRED)


# --- what goes in ---


def _chunk_size() -> int:
    return settings.PRIVACY_EXPORT_CHUNK_SIZE


# Bytes gathered before one write into the ZIP entry: each write compresses and encrypts, so a write per row or
# per field costs more than building the row.
ENTRY_BUFFER_BYTES = 1 << 16
CSV_HEADER = ["table", "about", "record_id", "field", "value"]
SPOOL_RECORDS = 250


def _csv_value(value: Any) -> Any:
    """JSON for structures, ISO dates; times and formula-looking text are left to the project's CSV writer."""
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def _changed_by_csv_value(kind: type) -> bool:
    return issubclass(kind, dict | list) or (issubclass(kind, date) and not issubclass(kind, datetime))


def _csv_text(table: str, about: str, names: list[str], records: list) -> str:
    """The CSV lines of `records`, one per field, built a column at a time by `portal.csv_export.csv_lines`: the
    table, its label and the field names are already safe (made so once), the record id is the database's, every
    value goes through `safe_cell` (a time the database wrote starts with its year: unchanged by it)."""
    values = [value for record in records for value in record.csv_values]
    if any(_changed_by_csv_value(kind) for kind in set(map(type, values))):
        values = [_csv_value(value) for value in values]
    lines = len(values)
    ids = [record.pk for record in records for _ in names]
    return csv_lines([[table] * lines, [about] * lines, ids, names * len(records), values], rules=_CSV_RULES)


_CSV_RULES = (READY, READY, READY, READY, CELL)


def _write_category(archive: zipfile.ZipFile, subject: Subject, category: str, counts: dict[str, int], spool: Path):
    """The category's JSON and CSV entries from one read of its records (`export_records`).

    The ZIP takes one entry at a time, so while the JSON entry is written the CSV's lines go to `spool`, encrypted
    like the archive (the plaintext never touches the disk), and are copied into the CSV entry after it: reading,
    decrypting and formatting a person's messages once instead of once per file was most of the time.

    CSV: one line per field; every cell through `portal.csv_export.safe_cell` (a name or message body that starts with
    `=`, `+`, `-` or `@` is never run as a spreadsheet formula, times are in the operator's zone with the offset
    written); the table, its label and the field names are made safe once, not on every line; the lines of a few
    hundred records are built a column at a time (`_csv_text`)."""
    encoder = DjangoJSONEncoder()
    chunk_size = _chunk_size()
    try:
        with open_private(spool) as raw_spool:
            spool_writer = EncryptedChunkWriter(raw_spool)
            spool_writer.write(csv_lines([[name] for name in CSV_HEADER], rules=[READY] * len(CSV_HEADER)).encode())
            with archive.open(f"{category}.json", "w", force_zip64=True) as entry_file:
                buffered = io.BufferedWriter(entry_file, buffer_size=ENTRY_BUFFER_BYTES)
                write = buffered.write
                head = {
                    "category": category,
                    "title": Category(category).label,
                    "description": CATEGORY_DESCRIPTIONS[category],
                }
                write(json.dumps(head, indent=1)[:-2].encode() + b',\n "tables": [')
                first_table = True
                for section in sections(subject, category):
                    if not first_table:
                        write(b",")
                    first_table = False
                    columns = section.columns
                    table_head = {"table": section.table, "about": section.label, "columns": columns}
                    write(b"\n  " + json.dumps(table_head, cls=DjangoJSONEncoder)[:-1].encode() + b', "rows": [')
                    table, about = safe_cell(section.table), safe_cell(section.label)
                    names = [safe_cell(column) for column in columns]
                    first_row = True
                    for records in section_records(section, chunk_size=chunk_size):
                        for record in records:
                            document = {"record_id": record.pk, **dict(zip(columns, record.json_values, strict=True))}
                            write((b"\n   " if first_row else b",\n   ") + encoder.encode(document).encode())
                            first_row = False
                        counts[category] = counts.get(category, 0) + len(records)
                        # A few hundred records' lines at a time: a chunk's ten lines a record held at once, as text
                        # and as bytes, were most of the export's memory.
                        for start in range(0, len(records), SPOOL_RECORDS):
                            batch = records[start : start + SPOOL_RECORDS]
                            spool_writer.write(_csv_text(table, about, names, batch).encode())
                    write(b"\n  ]}")
                write(b"\n ]\n}\n")
                buffered.flush()
                buffered.detach()
            spool_writer.close()
        with archive.open(f"{category}.csv", "w", force_zip64=True) as entry_file:
            for plain in decrypt_stream(spool):
                entry_file.write(plain)
    finally:
        spool.unlink(missing_ok=True)


def readme_text(export: DataExport, subject: Subject, counts: dict[str, int]) -> str:
    lines = [
        "YOUR PERSONAL DATA",
        "==================",
        "",
        f"Export #{export.pk}, made {timezone.localtime():%d %B %Y %H:%M} (Philippine time).",
        "It answers your access request (section 6 of our privacy policy; Data Privacy Act of 2012).",
        "",
        "It holds every record we keep about you, in the four categories of section 2 of the policy.",
        "Each category comes twice: as JSON (tables of records) and as CSV (one line per field:",
        "table, what the record is, record id, field, value), so it opens in a spreadsheet.",
        "",
    ]
    for category in Category:
        records = counts.get(category.value, 0)
        lines += [
            f"{category.value}.json / {category.value}.csv: {category.label} ({records} records)",
            f"    {CATEGORY_DESCRIPTIONS[category]}",
        ]
    lines += ["", "Where the data comes from (tables):"]
    for entry in registry().available():
        if any(finder.export != () for finder in entry.finders):
            lines.append(f"  {entry.model}: {entry.description}")
    lines += [
        "",
        "Not included, on purpose: password hashes, API key hashes, two-factor secrets, and data about",
        "other people (for example the recipients and text of messages you sent for your organization).",
        "",
        "Messages sent to your phone number list the organization that sent each one (organization__name).",
        "",
        "To correct, delete or object to any of this, see 'Your rights' on our privacy page.",
    ]
    return "\n".join(lines) + "\n"


def export_build(*, export_id: int) -> DataExport:
    """Build the encrypted archive. Idempotent: a ready export is left alone; a failed one is rebuilt."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().get(pk=export_id)
        if export.status in (ExportStatus.READY, ExportStatus.EXPIRED):
            return export
        export.status = ExportStatus.BUILDING
        export.attempts += 1
        export.started_at = timezone.now()
        export.save(update_fields=["status", "attempts", "started_at"])
    subject = subject_for_export(export)
    directory = Path(settings.PRIVATE_STORAGE_ROOT) / EXPORT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    file_name = f"{export.pk}-{secrets.token_hex(16)}.zip.enc"
    final_path = directory / file_name
    partial_path = directory / (file_name + ".part")
    counts: dict[str, int] = {}
    try:
        with open(partial_path, "wb") as raw:
            os.chmod(partial_path, 0o600)
            writer = EncryptedChunkWriter(raw)
            with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for category in Category:
                    spool = directory / f"{file_name}.{category.value}.csv.part"
                    _write_category(archive, subject, category.value, counts, spool)
                archive.writestr("README.txt", readme_text(export, subject, counts))
            writer.close()
        partial_path.rename(final_path)
    except Exception as exc:
        partial_path.unlink(missing_ok=True)
        logger.exception("export %s failed", export.pk)
        DataExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, last_error=f"{exc!r}"[:2000])
        export.refresh_from_db()
        report_to_request(export, step=FulfilmentStepKind.EXPORT, status=StepStatus.FAILED, error=export.last_error)
        return export
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        now = timezone.now()
        export.status = ExportStatus.READY
        export.file_name = file_name
        export.size_bytes = final_path.stat().st_size
        export.row_counts = counts
        export.token_hash = token_hash(token)
        export.ready_at = now
        export.expires_at = now + timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS)
        export.last_error = ""
        export.save()
        _send_link(export, token)
        report_to_request(export, step=FulfilmentStepKind.EXPORT, status=StepStatus.SUCCEEDED)
    return export


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def download_url(export: DataExport, token: str | None = None) -> str:
    if token:
        return settings.SITE_URL + reverse("privacy_data:export_download_token", args=[export.pk, token])
    return settings.SITE_URL + reverse("privacy_data:export_download", args=[export.pk])


def _send_link(export: DataExport, token: str) -> None:
    recipient = export.email or (export.user.email if export.user_id else "")
    if not recipient:
        return
    url = download_url(export, token)
    expires = timezone.localtime(export.expires_at)
    transaction.on_commit(
        lambda: send_mail(
            subject="Your personal data export is ready",
            message=(
                "The copy of your personal data you asked for is ready.\n\n"
                f"Download it here until {expires:%d %B %Y %H:%M} (Philippine time): {url}\n\n"
                "This link is for you alone: anyone who has it can download the file. Each download is "
                "logged.\n"
            ),
            from_email=None,
            recipient_list=[recipient],
        )
    )
