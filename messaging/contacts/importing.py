"""Importing contacts from a CSV file with a column mapping chosen by the customer.

Two steps on the dashboard: the upload is stored privately (encrypted: it names people) and its header and first
rows are shown; the customer says which column is the phone number, which is the name, and which other columns to
keep (each kept column becomes a custom field usable as a merge field, `{city}`). The API does both in one call.

A number already in the address book (in any accepted form: 0917..., +63917..., 63917...) updates that contact
(the name when given, the custom fields merged) instead of adding a second one; a number written twice in the file
is one contact, the later row winning. Bad numbers are reported by row and skipped.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from accounts.services import audit_log_record, require_active_organization
from messaging.campaigns.merge import BUILT_IN_FIELDS, field_key
from messaging.contacts.models import Contact
from messaging.contacts.services import contacts_tag, group_get_or_create
from messaging.numbers import InvalidPhoneNumber, normalize_ph_number
from portal.crypto import decrypt_bytes, phone_lookup_hash
from portal.encrypted_files import EncryptedChunkWriter, decrypt_stream, is_encrypted_file, open_private
from portal.errors import ApplicationError, NotFound
from portal.queues import TaskQueue

MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
PREVIEW_ROWS = 5
MAX_REPORTED_ERRORS = 100
IMPORT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PENDING_KEPT_FOR = timedelta(hours=24)


class ColumnRole:
    PHONE = "phone"
    NAME = "name"
    FIELD = "field"  # kept as a custom field named after the column
    SKIP = "skip"

    choices = [(PHONE, "Phone number"), (NAME, "Name"), (FIELD, "Custom field"), (SKIP, "Skip")]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    duplicates_in_file: int = 0
    invalid: int = 0
    errors: list[dict] = field(default_factory=list)
    group_id: int | None = None


@dataclass
class PendingImport:
    id: str
    header: list[str]
    sample: list[list[str]]
    rows: int


# --- reading ---


def _parse(data: bytes) -> list[list[str]]:
    if len(data) > MAX_IMPORT_BYTES:
        raise ApplicationError(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it.", code="file_too_large"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError(
            "The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and upload again.",
            code="invalid_csv",
        )
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ApplicationError(f"The file is not a readable CSV: {exc}.", code="invalid_csv")
    if len(rows) < 2:
        raise ApplicationError("The file needs a header row and at least one contact.", code="invalid_csv")
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise ApplicationError(f"The file has more than {MAX_IMPORT_ROWS:,} contacts; split it.", code="too_many_rows")
    header = [cell.strip() for cell in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ApplicationError("Every column needs a name of its own in the header row.", code="invalid_csv")
    return rows


def guess_mapping(header: list[str]) -> dict[str, str]:
    """A starting point for the mapping form: number-like columns are the phone, name-like the name."""
    mapping: dict[str, str] = {}
    for column in header:
        key = field_key(column)
        if ColumnRole.PHONE not in mapping.values() and key in ("phone", "number", "mobile", "to", "phone_number"):
            mapping[column] = ColumnRole.PHONE
        elif ColumnRole.NAME not in mapping.values() and key in ("name", "full_name", "first_name"):
            mapping[column] = ColumnRole.NAME
        else:
            mapping[column] = ColumnRole.FIELD
    return mapping


def _validate_mapping(header: list[str], mapping: dict[str, str]) -> tuple[int, int | None, dict[int, str]]:
    """(phone column, name column or None, {column index: custom field key})."""
    unknown = [column for column in mapping if column not in header]
    if unknown:
        raise ApplicationError(f"The file has no column {', '.join(unknown)}.", code="invalid_mapping")
    roles = {column: mapping.get(column, ColumnRole.FIELD) for column in header}
    bad_roles = [role for role in roles.values() if role not in dict(ColumnRole.choices)]
    phone = [index for index, column in enumerate(header) if roles[column] == ColumnRole.PHONE]
    name = [index for index, column in enumerate(header) if roles[column] == ColumnRole.NAME]
    if bad_roles or len(phone) != 1 or len(name) > 1:
        raise ApplicationError(
            "Choose exactly one phone number column, at most one name column; other columns are kept or skipped.",
            code="invalid_mapping",
        )
    custom = {index: field_key(column) for index, column in enumerate(header) if roles[column] == ColumnRole.FIELD}
    clashes = sorted({key for key in custom.values() if key in BUILT_IN_FIELDS or not key})
    if clashes or len(set(custom.values())) != len(custom):
        raise ApplicationError(
            "Two kept columns would make the same merge field (or one is named like a built-in field: "
            f"{', '.join(BUILT_IN_FIELDS)}); skip or rename one.",
            code="invalid_mapping",
        )
    return phone[0], (name[0] if name else None), custom


# --- importing ---


@transaction.atomic
def contacts_import(
    *,
    organization,
    actor=None,
    api_key=None,
    data: bytes,
    mapping: dict[str, str],
    group_name: str = "",
    tags: list[str] | None = None,
) -> ImportResult:
    """Create or update one contact per good row (one transaction); add them to the group (created when new)."""
    require_active_organization(organization=organization)
    rows = _parse(data)
    phone_index, name_index, custom = _validate_mapping([cell.strip() for cell in rows[0]], mapping)
    result = ImportResult()
    by_number: dict[str, tuple[str, dict[str, str]]] = {}
    for row_number, cells in enumerate(rows[1:], start=2):
        cells = cells + [""] * (len(rows[0]) - len(cells))
        raw = cells[phone_index].strip()
        try:
            number = normalize_ph_number(raw)
        except InvalidPhoneNumber as exc:
            result.invalid += 1
            if len(result.errors) < MAX_REPORTED_ERRORS:
                result.errors.append({"row": row_number, "input": raw[:40], "reason": exc.message})
            continue
        name = cells[name_index].strip()[:200] if name_index is not None else ""
        values = {key: cells[index].strip()[:500] for index, key in custom.items() if cells[index].strip()}
        if number in by_number:
            result.duplicates_in_file += 1
            earlier_name, earlier_values = by_number[number]
            name, values = name or earlier_name, {**earlier_values, **values}
        by_number[number] = (name, values)

    now = timezone.now()
    hashes = {phone_lookup_hash(number): number for number in by_number}
    existing = {
        contact.phone_hash: contact
        for contact in Contact.objects.for_organization(organization).filter(phone_hash__in=list(hashes))
    }
    to_create, to_update = [], []
    for phone_hash, number in hashes.items():
        name, values = by_number[number]
        contact = existing.get(phone_hash)
        if contact is None:
            to_create.append(
                Contact(
                    organization=organization,
                    phone_number=number,
                    name=name,
                    custom_fields=json.dumps(values) if values else "",
                    created_at=now,
                    updated_at=now,
                )
            )
            continue
        merged = {**contact.fields, **values}
        contact.name = name or contact.name
        contact.custom_fields = json.dumps(merged) if merged else ""
        contact.updated_at = now
        to_update.append(contact)
    Contact.objects.bulk_create(to_create, batch_size=500)
    Contact.objects.for_organization(organization).bulk_update(
        to_update, ["name", "custom_fields", "updated_at"], batch_size=500
    )
    result.created, result.updated = len(to_create), len(to_update)
    contacts = to_create + to_update
    if contacts and not all(contact.pk for contact in to_create):
        # Backends that do not return ids from bulk_create: read them back by hash.
        contacts = list(Contact.objects.for_organization(organization).filter(phone_hash__in=list(hashes)))
    if group_name.strip() and contacts:
        group = group_get_or_create(organization=organization, name=group_name)
        group.contacts.add(*contacts)
        result.group_id = group.pk
    if tags and contacts:
        contacts_tag(organization=organization, contacts=contacts, tags=tags)
    audit_log_record(
        event_type="contacts.imported",
        organization=organization,
        actor=actor,
        api_key=api_key,
        extra={
            "created": result.created,
            "updated": result.updated,
            "invalid": result.invalid,
            "duplicates_in_file": result.duplicates_in_file,
            "group": result.group_id,
        },
    )
    return result


# --- the dashboard's two steps: a pending upload, kept encrypted until it is imported ---


def _root() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT) / "contact-imports"


def _path(organization_id: int, import_id: str) -> Path:
    if not IMPORT_ID_PATTERN.match(import_id or ""):
        raise NotFound("No such upload.")
    return _root() / str(int(organization_id)) / f"{import_id}.csv.enc"


def pending_import_store(*, organization, upload) -> PendingImport:
    """Check the file, keep it encrypted for the mapping step and return its header and first rows."""
    require_active_organization(organization=organization)
    data = b"".join(upload.chunks())
    rows = _parse(data)
    pending = PendingImport(
        id=secrets.token_urlsafe(18), header=[c.strip() for c in rows[0]], sample=rows[1:6], rows=len(rows) - 1
    )
    path = _path(organization.id, pending.id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # 0600 and in the encrypted-file format of bulk uploads, so `manage.py rotate_keys` finds it (by its header).
    with open_private(path) as raw:
        writer = EncryptedChunkWriter(raw)
        writer.write(data)
        writer.close()
    return pending


def _read_upload(path: Path) -> bytes:
    if is_encrypted_file(path):
        return b"".join(decrypt_stream(path))
    # An upload stored before the encrypted-file format (one Fernet token); such files are purged after a day.
    return decrypt_bytes(path.read_bytes())


def pending_import_get(*, organization, import_id: str) -> tuple[PendingImport, bytes]:
    try:
        data = _read_upload(_path(organization.id, import_id))
    except FileNotFoundError:
        raise NotFound("No such upload; it may have been imported already or expired. Upload the file again.")
    rows = _parse(data)
    header = [c.strip() for c in rows[0]]
    return PendingImport(id=import_id, header=header, sample=rows[1 : PREVIEW_ROWS + 1], rows=len(rows) - 1), data


def pending_import_finish(
    *, organization, actor, import_id: str, mapping: dict[str, str], group_name: str = "", tags=None
) -> ImportResult:
    """Import a stored upload with the mapping the customer chose, then delete the file."""
    _, data = pending_import_get(organization=organization, import_id=import_id)
    result = contacts_import(
        organization=organization, actor=actor, data=data, mapping=mapping, group_name=group_name, tags=tags
    )
    _path(organization.id, import_id).unlink(missing_ok=True)
    return result


def pending_imports_purge(*, now: datetime | None = None) -> int:
    """Delete uploads never imported after a day (they name people). Returns how many were removed."""
    cutoff = (now or timezone.now()).timestamp() - PENDING_KEPT_FOR.total_seconds()
    removed = 0
    for path in _root().glob("*/*.csv.enc") if _root().exists() else []:
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


@task(queue_name=TaskQueue.MAINTENANCE)
def purge_contact_imports() -> int:
    """Periodic: drop contact uploads that were never imported."""
    return pending_imports_purge()
