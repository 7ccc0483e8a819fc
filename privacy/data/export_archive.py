"""Building an access export: a ZIP with, per policy category, one JSON file (every table of the category) and one CSV
file per table with records (a header, then one line per record), plus a README; encrypted at rest.

The archive is written a chunk of records at a time (`export_records`: one streamed query per table, one read for
both files of a category) straight into the ZIP entry, and the ZIP is written straight into an encrypting writer:
the plaintext never touches the disk and memory stays bounded by a few chunks whatever the size of the person's
data. Three things happen at once, on different cores where there are: the database writes the next records, this
process formats the current ones, and a writer thread compresses and encrypts the ones before.

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
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.csv_export import CELL, READY, csv_lines
from portal.encrypted_files import EncryptedChunkWriter, ScratchFile
from portal.personal_data import CATEGORY_DESCRIPTIONS, Category
from portal.prefetch import WriterThread
from privacy.data.export_records import Chunk, Section, section_records, sections
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


# zlib's fastest level: at the default (6) compressing took a sixth of a large export's CPU time, for an archive a
# fifth smaller (200,000 messages: 14.6 MB at 6, 18.7 MB at 1). It is downloaded once and kept for days, not years.
COMPRESS_LEVEL = 1
# Bytes gathered before one write into the ZIP entry: each write compresses and encrypts, so a write per row or
# per field costs more than building the row.
ENTRY_BUFFER_BYTES = 1 << 16


@dataclass
class CsvFile:
    """One table's CSV file of a category: written to an encrypted spool while the category's JSON entry is open
    (the ZIP takes one entry at a time), copied into the archive after it."""

    name: str
    table: str
    about: str
    spool: ScratchFile
    records: int = 0


def csv_file_name(category: str, table: str, taken: set[str]) -> str:
    """`usage_data/messaging.Message.csv`; a table with a second set of records in the category (messages to the
    person's number, messages the person sent) gets `-2`."""
    name, number = f"{category}/{table}.csv", 1
    while name in taken:
        number += 1
        name = f"{category}/{table}-{number}.csv"
    taken.add(name)
    return name


def _csv_column(values: Sequence[Any]) -> Sequence[Any]:
    """JSON for structures, ISO dates; times and formula-looking text are left to the project's CSV writer."""
    kinds = set(map(type, values))
    if not any(
        issubclass(kind, dict | list) or (issubclass(kind, date) and not issubclass(kind, datetime)) for kind in kinds
    ):
        return values
    return [
        json.dumps(value, cls=DjangoJSONEncoder)
        if isinstance(value, dict | list)
        else value.isoformat()
        if isinstance(value, date) and not isinstance(value, datetime)
        else value
        for value in values
    ]


def _csv_text(chunk: Chunk) -> str:
    """The chunk's CSV lines, one per record (its id, then its columns), built a column at a time by
    `portal.csv_export.csv_lines`: the id is the database's and a time the database wrote starts with its year
    (`READY`: only quoted), every other value goes through `safe_cell` (`CELL`)."""
    columns = [chunk.ids, *map(_csv_column, chunk.csv_columns)]
    rules = [READY, *(READY if ready else CELL for ready in chunk.csv_ready)]
    return csv_lines(columns, rules=rules)


_NONE = type(None)
_JSON = DjangoJSONEncoder()


def _json_tokens(values: Sequence[Any]) -> Sequence[str]:
    """A column's values as JSON text, as `json.dumps` writes them: the common kinds (text, whole numbers, None) a
    column at a time by C functions, anything else (times on SQLite, decimals, structures) by the encoder."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return list(map(encode_basestring_ascii, values))
    if kinds <= {str, _NONE}:
        return ["null" if value is None else encode_basestring_ascii(value) for value in values]
    if kinds <= {int}:
        return list(map(str, values))
    if kinds <= {int, _NONE}:
        return ["null" if value is None else str(value) for value in values]
    return list(map(_JSON.encode, values))


def json_record_template(keys: Sequence[str]) -> str:
    """`{"record_id": %s, "body": %s, ...}`: a record's JSON object with its values' JSON text to fill in."""
    return "{" + ", ".join(encode_basestring_ascii(key).replace("%", "%%") + ": %s" for key in keys) + "}"


def _json_text(template: str, chunk: Chunk) -> str:
    """The chunk's JSON records, one a line: what `json.dumps` writes for each record's dict (`record_id`, then the
    columns), built a column at a time and filled in by one `%` a record (half the time of a dict and an encoder
    call a record)."""
    columns = [_json_tokens(chunk.ids), *map(_json_tokens, chunk.json_columns)]
    return ",\n   ".join(map(template.__mod__, zip(*columns, strict=True)))


def _write_category(
    archive: zipfile.ZipFile, subject: Subject, category: str, counts: dict[str, int], spool_prefix: Path
) -> list[CsvFile]:
    """The category's JSON entry and one CSV entry per table with records, from one read of its records
    (`export_records`); returns the CSV files written.

    The ZIP takes one entry at a time, so while the JSON entry is written each table's CSV lines go to a spool file,
    sealed under a key of its own (`portal.encrypted_files.ScratchFile`: the plaintext never touches the disk),
    copied into the table's CSV entry after it: reading, decrypting and formatting a person's messages once instead
    of once per file was most of the time.

    CSV: one line per record, a header naming the columns (`record_id` first), as a spreadsheet expects; every cell
    through `portal.csv_export.csv_lines` (a name or message body that starts with `=`, `+`, `-` or `@` is never run
    as a spreadsheet formula, times are in the operator's zone with the offset written)."""
    chunk_size = _chunk_size()
    files: list[CsvFile] = []
    taken: set[str] = set()
    try:
        with archive.open(f"{category}.json", "w", force_zip64=True) as entry_file:
            buffered = io.BufferedWriter(entry_file, buffer_size=ENTRY_BUFFER_BYTES)
            # Compressing and encrypting the entry's text (zlib lets go of the GIL) and sealing the CSV spools run in a
            # thread of its own, on another core than the formatting of the next records (the database sends those
            # meanwhile: `section_records` streams them). Every write of the entry and of the spools goes through
            # it, in order.
            with WriterThread() as later:

                def write(data: bytes) -> None:
                    later(buffered.write, data)

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
                    _write_section(section, category, write, later, files, taken, spool_prefix, chunk_size)
                    write(b"\n  ]}")
                write(b"\n ]\n}\n")
                later(buffered.flush)
            buffered.detach()
        counts[category] = counts.get(category, 0) + sum(csv_file.records for csv_file in files)
        for csv_file in files:
            with archive.open(csv_file.name, "w", force_zip64=True) as entry_file, WriterThread() as later:
                for plain in csv_file.spool.read():
                    later(entry_file.write, plain)
            csv_file.spool.path.unlink()
    finally:
        for csv_file in files:
            csv_file.spool.close()
            csv_file.spool.path.unlink(missing_ok=True)
    return files


def _write_section(
    section: Section,
    category: str,
    write: Callable[[bytes], None],
    later: WriterThread,
    files: list[CsvFile],
    taken: set[str],
    spool_prefix: Path,
    chunk_size: int,
) -> None:
    """One table of the category: its head and records into the JSON entry (`write`), its CSV lines into a spool
    (a `CsvFile` added to `files` when it has records)."""
    columns = section.columns
    table_head = {"table": section.table, "about": section.label, "columns": columns}
    write(b"\n  " + json.dumps(table_head, cls=DjangoJSONEncoder)[:-1].encode() + b', "rows": [')
    keys = ["record_id", *columns]
    template = json_record_template(keys)
    # Named before its records are read, so a name means the same records whether or not others are empty.
    name = csv_file_name(category, section.table, taken)
    csv_file = None
    # Closed on the way out: the records' query is stopped and the connection free again before a failure is recorded.
    with closing(section_records(section, chunk_size=chunk_size)) as records:
        for chunk in records:
            if csv_file is None:
                write(b"\n   " + _json_text(template, chunk).encode())
                spool = ScratchFile(spool_prefix.with_name(f"{spool_prefix.name}.{len(files)}.csv.part"))
                csv_file = CsvFile(name, section.table, section.label, spool)
                files.append(csv_file)
                later(spool.write, csv_lines([[key] for key in keys], rules=[CELL] * len(keys)).encode())
            else:
                write(b",\n   " + _json_text(template, chunk).encode())
            later(csv_file.spool.write, _csv_text(chunk).encode())
            csv_file.records += len(chunk.ids)
    if csv_file is not None:
        later(csv_file.spool.finish)


def readme_text(export: DataExport, subject: Subject, counts: dict[str, int], csv_files: list[CsvFile]) -> str:
    lines = [
        "YOUR PERSONAL DATA",
        "==================",
        "",
        f"Export #{export.pk}, made {timezone.localtime():%d %B %Y %H:%M} (Philippine time).",
        "It answers your access request (section 6 of our privacy policy; Data Privacy Act of 2012).",
        "",
        "It holds every record we keep about you, in the four categories of section 2 of the policy.",
        "Each category comes twice:",
        "- as JSON (<category>.json): every table of the category, each with its records;",
        "- as CSV, to open in a spreadsheet: a folder per category with one file per table that holds",
        "  records about you, one line per record under a header line naming its columns (record_id first).",
        "A table with no records about you has no CSV file (its JSON table is empty).",
        "Times are in UTC in the JSON files and in Philippine time, with the offset written, in the CSV files.",
        "",
    ]
    for category in Category:
        records = counts.get(category.value, 0)
        lines += [
            f"{category.value}.json: {category.label} ({records} records)",
            f"    {CATEGORY_DESCRIPTIONS[category]}",
        ]
        for csv_file in csv_files:
            if csv_file.name.startswith(f"{category.value}/"):
                lines.append(f"  {csv_file.name}: {csv_file.about} ({csv_file.records} records)")
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
    csv_files: list[CsvFile] = []
    try:
        with open(partial_path, "wb") as raw:
            os.chmod(partial_path, 0o600)
            writer = EncryptedChunkWriter(raw)
            with zipfile.ZipFile(
                writer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
            ) as archive:
                for category in Category:
                    spool_prefix = directory / f"{file_name}.{category.value}"
                    csv_files += _write_category(archive, subject, category.value, counts, spool_prefix)
                archive.writestr("README.txt", readme_text(export, subject, counts, csv_files))
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
