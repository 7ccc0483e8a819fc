"""Bulk sending from a CSV upload: store it privately, validate every row, preview, send in the background.

Design (no model of its own: the messaging models belong to the engine):
- The upload is streamed to `PRIVATE_STORAGE_ROOT/bulk-sends/<organization id>/<bulk id>/upload.csv`, next
  to a small `state.json` (counts, first errors, progress). The bulk id is random (`secrets.token_urlsafe`)
  and the directory is per organization, so another organization's id is simply not found (404). A file
  rather than the cache holds the progress because the web process and the task worker must both see it,
  and the default cache (locmem) is per process.
- Validation and sending both stream the file (`csv.reader` over a text wrapper): memory stays bounded by
  one chunk (<= 1000 rows) whatever the file size; more than `MAX_ROWS` rows is refused with a clear error.
- Merge fields: a message (the row's or the common one) may name any column in braces (`Hi {name}!`, `{city}`);
  each row's text is filled from its own cells. A field that is no column, or empty in the row, is that row's
  error: it is reported and not sent (never sent with the braces in it).
- Duplicates: a number listed again (in any form: 0917..., +63917..., 63917...) is counted and shown in the
  preview and sent once, unless the customer ticks "send to duplicates" when confirming.
- A confirmed upload is a campaign (`messaging.campaigns`) with the name the customer gave: its messages link to
  it, so it is listed with its progress and is a filter of the log.
- Sending: rows go to `messaging.services.sending.message_send(channel="csv")` in runs of at most 1000, each row
  with its own text (each call is all-or-nothing: one transaction, one charge). After each call the
  number of the last row handled is written to the state, so a task run again after a crash resumes after
  it instead of sending twice. Billing errors (insufficient credits, monthly limit) stop the run; rows not
  reached are reported as not sent.
- Starting twice is impossible: starting creates `started` with O_EXCL (atomic on POSIX filesystems).
- The uploaded file names people's numbers: it is deleted as soon as the run ends; `state.json` keeps only
  counts and at most `MAX_REPORTED_ERRORS` bad rows (what the customer typed, for the report).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_tasks import task

from accounts.models import Organization, User
from accounts.services import audit_log_record, require_active_organization
from billing import selectors as billing_selectors
from messaging.campaigns.merge import field_key, fields_in, render
from messaging.campaigns.models import Campaign
from messaging.campaigns.services import campaign_csv_create, campaign_csv_finish
from messaging.models import MessageChannel, MessageStatus
from messaging.numbers import InvalidPhoneNumber, normalize_ph_number
from messaging.segments import count_segments
from messaging.services import sending
from portal.encrypted_files import DecryptingReader, EncryptedChunkWriter, decrypt_stream, open_private
from portal.errors import ApplicationError, NotFound
from portal.queues import TaskQueue

MAX_ROWS = 100_000
MEGABYTE = 1024 * 1024
MAX_FILE_BYTES = 20 * MEGABYTE
CHUNK_SIZE = 1000
MAX_REPORTED_ERRORS = 200
NUMBER_COLUMNS = ("number", "phone", "to")
MESSAGE_COLUMNS = ("message",)
BULK_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
RECIPIENT_SEPARATORS = re.compile(r"[,;\n\r]+")


class BulkSendStatus(models.TextChoices):
    VALIDATED = "validated", "Checked, waiting for confirmation"  # preview shown; nothing sent
    QUEUED = "queued", "Queued"  # confirmed; the background task has not started yet
    RUNNING = "running", "Sending"  # the task is handing rows to message_send chunk by chunk
    DONE = "done", "Done"  # every valid row was handed over
    FAILED = "failed", "Stopped"  # a chunk was refused (e.g. credits ran out); later rows were not sent


FINISHED = (BulkSendStatus.DONE, BulkSendStatus.FAILED)


@dataclass
class BulkSend:
    id: str
    organization_id: int
    created_by_id: int | None
    file_name: str
    default_body: str
    sender_name: str
    name: str = ""
    status: str = BulkSendStatus.VALIDATED
    total_rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    segments_total: int = 0
    price_total: str = "0"
    errors: list[dict] = field(default_factory=list)
    duplicates: int = 0  # valid rows whose number an earlier row already has
    duplicate_rows: list[dict] = field(default_factory=list)  # the first ones: {row, input, first_row}
    duplicates_price: str = "0"  # what sending them too would add
    send_to_duplicates: bool = False
    campaign_id: int | None = None
    accepted: int = 0
    opted_out: int = 0
    not_sent: int = 0
    last_row_done: int = 0
    error_message: str = ""
    created_at: str = ""
    started_at: str = ""
    finished_at: str = ""

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def rejected(self) -> int:
        """Rows that will never become a queued message: invalid ones and opted-out recipients."""
        return self.invalid_rows + self.opted_out

    @property
    def processed(self) -> int:
        return self.accepted + self.opted_out

    @property
    def to_send(self) -> int:
        return self.valid_rows - (0 if self.send_to_duplicates else self.duplicates)

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return int(100 * self.processed / self.to_send) if self.to_send else 0

    @property
    def more_errors(self) -> int:
        return max(0, self.invalid_rows - len(self.errors))

    def get_status_display(self) -> str:
        return BulkSendStatus(self.status).label


# --- recipients typed into the send form ---


def recipients_from_text(text: str) -> list[str]:
    """Numbers separated by commas, semicolons or new lines; spaces inside a number stay ("0917 123 4567")."""
    return [part.strip() for part in RECIPIENT_SEPARATORS.split(text or "") if part.strip()]


# --- storage ---


def _root() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT) / "bulk-sends"


def _directory(organization_id: int, bulk_id: str) -> Path:
    if not BULK_ID_PATTERN.match(bulk_id or ""):
        raise NotFound("No such bulk send.")
    return _root() / str(int(organization_id)) / bulk_id


def _write_encrypted(path: Path, chunks) -> None:
    """A file only the service's user reads (0600), encrypted at rest like privacy exports (`portal.encrypted_files`):
    the upload and its state name people's numbers and hold the message text."""
    with open_private(path) as raw:
        writer = EncryptedChunkWriter(raw)
        for chunk in chunks:
            writer.write(chunk)
        writer.close()


def _read_state(path: Path) -> BulkSend:
    return BulkSend(**json.loads(b"".join(decrypt_stream(path)).decode("utf-8")))


def _save(bulk: BulkSend) -> None:
    directory = _directory(bulk.organization_id, bulk.id)
    temporary = directory / f"state.{secrets.token_hex(4)}.tmp"
    _write_encrypted(temporary, [json.dumps(asdict(bulk)).encode("utf-8")])
    os.replace(temporary, directory / "state.json")  # atomic: readers never see half a file


def bulk_send_get(*, organization, bulk_id: str) -> BulkSend:
    path = _directory(organization.id, bulk_id) / "state.json"
    try:
        return _read_state(path)
    except FileNotFoundError:
        raise NotFound("No such bulk send.")


# --- reading and validating the file ---


def _open_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every non-empty row after the header; row 1 is the header."""
    with io.BufferedReader(DecryptingReader(path)) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            yield from enumerate(reader, start=1)
        except UnicodeDecodeError:
            raise ApplicationError(
                "The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and upload again.",
                code="invalid_csv",
            )
        except csv.Error as exc:
            raise ApplicationError(f"The file is not a readable CSV: {exc}.", code="invalid_csv")


def _columns(header: list[str]) -> tuple[int, int | None]:
    names = [cell.strip().lower() for cell in header]
    number_column = next((names.index(n) for n in NUMBER_COLUMNS if n in names), None)
    if number_column is None:
        raise ApplicationError(
            "The first row must be a header naming the number column: number, phone or to "
            "(and optionally a message column).",
            code="invalid_csv",
        )
    message_column = next((names.index(n) for n in MESSAGE_COLUMNS if n in names), None)
    return number_column, message_column


def _iter_data_rows(path: Path, default_body: str) -> Iterator[tuple[int, str, str, str]]:
    """(row number, number as typed, text with the row's merge fields filled in, merge error) for each data row;
    blank rows are skipped."""
    rows = _open_rows(path)
    header = next(rows, None)
    if header is None:
        raise ApplicationError("The file is empty.", code="invalid_csv")
    number_column, message_column = _columns(header[1])
    keys = [field_key(cell) for cell in header[1]]
    for row_number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        number = cells[number_column].strip() if number_column < len(cells) else ""
        body = ""
        if message_column is not None and message_column < len(cells):
            body = cells[message_column]
        body = body.strip() or default_body
        if not fields_in(body):
            yield row_number, number, body, ""
            continue
        values = {key: cell for key, cell in zip(keys, cells, strict=False) if key}
        rendered = render(body, values, known=keys)
        yield row_number, number, rendered.text, rendered.error


def _row_error(number: str, body: str, merge_error: str = "") -> tuple[str | None, str]:
    """(E.164 number, "") for a good row, (None, reason) for a bad one (same rules as message_send)."""
    try:
        e164 = normalize_ph_number(number)
    except InvalidPhoneNumber as exc:
        return None, exc.message
    if merge_error:
        return None, merge_error
    if not body.strip():
        return None, "No message: the row has no message and no common message was given."
    if len(body) > settings.SMS_MAX_BODY_CHARACTERS:
        return (
            None,
            f"The message has {len(body)} characters; the limit is {settings.SMS_MAX_BODY_CHARACTERS}.",
        )
    return e164, ""


def _store_upload(upload, path: Path) -> None:
    if upload.size is not None and upload.size > MAX_FILE_BYTES:
        raise ApplicationError(
            f"The file is {upload.size // MEGABYTE} MB; the limit is {MAX_FILE_BYTES // MEGABYTE} MB.",
            code="file_too_large",
        )
    _write_encrypted(path, upload.chunks())


def bulk_send_upload(
    *, organization, actor, upload, default_body: str = "", sender_name: str = "", name: str = ""
) -> BulkSend:
    """Store the upload privately, validate every row (streaming) and return the preview state.

    A problem with the file itself (not UTF-8, no number column, too many rows, empty) raises ApplicationError
    and keeps nothing; bad rows are counted, the first `MAX_REPORTED_ERRORS` reported with their row."""
    require_active_organization(organization=organization)
    bulk = BulkSend(
        id=secrets.token_urlsafe(18),
        organization_id=organization.id,
        created_by_id=getattr(actor, "pk", None),
        file_name=os.path.basename(upload.name or "upload.csv")[:120],
        default_body=default_body or "",
        sender_name=sender_name or "",
        name=(name or "").strip()[:120] or os.path.splitext(os.path.basename(upload.name or "upload.csv"))[0][:120],
        created_at=timezone.now().isoformat(),
    )
    directory = _directory(organization.id, bulk.id)
    directory.mkdir(parents=True, mode=0o700)
    try:
        _store_upload(upload, directory / "upload.csv")
        price_by_segments: dict[int, Decimal] = {}
        price_total = duplicates_price = Decimal("0")
        first_rows: dict[str, int] = {}
        for row_number, number, body, merge_error in _iter_data_rows(directory / "upload.csv", bulk.default_body):
            bulk.total_rows += 1
            if bulk.total_rows > MAX_ROWS:
                raise ApplicationError(
                    f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.",
                    code="too_many_rows",
                )
            e164, reason = _row_error(number, body, merge_error)
            if e164 is None:
                bulk.invalid_rows += 1
                if len(bulk.errors) < MAX_REPORTED_ERRORS:
                    bulk.errors.append({"row": row_number, "input": number[:40], "reason": reason})
                continue
            bulk.valid_rows += 1
            segments = count_segments(body).segments
            if segments not in price_by_segments:
                price_by_segments[segments] = billing_selectors.message_price(
                    organization=organization, segments=segments
                )
            if e164 in first_rows:
                bulk.duplicates += 1
                duplicates_price += price_by_segments[segments]
                if len(bulk.duplicate_rows) < MAX_REPORTED_ERRORS:
                    bulk.duplicate_rows.append({"row": row_number, "input": number[:40], "first_row": first_rows[e164]})
                continue
            first_rows[e164] = row_number
            bulk.segments_total += segments
            price_total += price_by_segments[segments]
        if bulk.total_rows == 0:
            raise ApplicationError("The file has a header but no rows.", code="invalid_csv")
        bulk.price_total = str(price_total)
        bulk.duplicates_price = str(duplicates_price)
        _save(bulk)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return bulk


# --- sending ---


def bulk_send_start(*, organization, actor, bulk_id: str, send_to_duplicates: bool = False) -> BulkSend:
    """Confirm a checked upload: the background task sends its valid rows (a number listed again only when
    `send_to_duplicates`), as a campaign named after the upload. Confirming twice is refused."""
    require_active_organization(organization=organization)
    bulk = bulk_send_get(organization=organization, bulk_id=bulk_id)
    if bulk.valid_rows == 0:
        raise ApplicationError("No valid rows to send.", code="nothing_to_send")
    directory = _directory(organization.id, bulk_id)
    try:
        os.close(os.open(directory / "started", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        raise ApplicationError("This upload was already confirmed.", code="already_started", status=409)
    bulk.status = BulkSendStatus.QUEUED
    bulk.started_at = timezone.now().isoformat()
    bulk.send_to_duplicates = bool(send_to_duplicates)
    campaign = campaign_csv_create(
        organization=organization, actor=actor, name=bulk.name, body=bulk.default_body, recipients=bulk.to_send
    )
    bulk.campaign_id = campaign.pk
    _save(bulk)
    audit_log_record(
        event_type="message.bulk_started",
        organization=organization,
        actor=actor,
        extra={"bulk_id": bulk.id, "rows": bulk.valid_rows, "file_name": bulk.file_name},
    )
    transaction.on_commit(partial(bulk_send_run.enqueue, organization_id=organization.id, bulk_id=bulk.id))
    return bulk


def _send_run(*, organization, actor, bulk: BulkSend, campaign, items: list[tuple[int, str, str]]) -> None:
    messages = sending.message_send(
        organization=organization,
        actor=actor,
        recipients=[number for _, number, _ in items],
        body=items[0][2],
        bodies=[text for _, _, text in items],
        sender_name=bulk.sender_name or None,
        channel=MessageChannel.CSV,
        campaign=campaign,
        recipients_normalized=True,  # each is normalize_ph_number's answer for its row
    )
    queued = sum(1 for m in messages if m.status == MessageStatus.QUEUED)
    bulk.accepted += queued
    bulk.opted_out += len(messages) - queued
    bulk.last_row_done = items[-1][0]
    _save(bulk)


def bulk_send_process(*, organization_id: int, bulk_id: str) -> BulkSend:
    """Send the valid rows of a confirmed upload (idempotent: resumes after the last row handed over)."""
    organization = Organization.objects.get(pk=organization_id)
    bulk = bulk_send_get(organization=organization, bulk_id=bulk_id)
    if bulk.is_finished or bulk.status == BulkSendStatus.VALIDATED:
        return bulk
    actor = User.objects.filter(pk=bulk.created_by_id).first() if bulk.created_by_id else None
    path = _directory(organization.id, bulk_id) / "upload.csv"
    bulk.status = BulkSendStatus.RUNNING
    _save(bulk)
    campaign = (
        Campaign.objects.for_organization(organization).filter(pk=bulk.campaign_id).first()
        if bulk.campaign_id
        else None
    )
    run_items: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    send = partial(_send_run, organization=organization, actor=actor, bulk=bulk, campaign=campaign)
    try:
        for row_number, number, body, merge_error in _iter_data_rows(path, bulk.default_body):
            e164, _ = _row_error(number, body, merge_error)
            if e164 is None:
                continue
            duplicate = e164 in seen
            seen.add(e164)  # rows already sent by an earlier run count too, so a resumed run skips the same ones
            if row_number <= bulk.last_row_done or (duplicate and not bulk.send_to_duplicates):
                continue
            if len(run_items) >= CHUNK_SIZE:
                send(items=run_items)
                run_items = []
            run_items.append((row_number, e164, body))
        if run_items:
            send(items=run_items)
    except ApplicationError as exc:
        bulk.status = BulkSendStatus.FAILED
        bulk.error_message = exc.message
        bulk.not_sent = bulk.to_send - bulk.processed
    else:
        bulk.status = BulkSendStatus.DONE
    bulk.finished_at = timezone.now().isoformat()
    _save(bulk)
    if campaign is not None:
        campaign_csv_finish(organization=organization, campaign_id=campaign.pk, error_message=bulk.error_message)
    path.unlink(missing_ok=True)  # the numbers are in the messages now; the upload is not kept
    return bulk


@task(queue_name=TaskQueue.SEND)
def bulk_send_run(*, organization_id: int, bulk_id: str) -> dict:
    """Background part of a CSV bulk send (enqueued after the confirmation commits)."""
    bulk = bulk_send_process(organization_id=organization_id, bulk_id=bulk_id)
    return {"status": bulk.status, "accepted": bulk.accepted, "opted_out": bulk.opted_out}


# --- housekeeping ---

UNCONFIRMED_KEPT_FOR = timedelta(hours=24)
FINISHED_KEPT_FOR = timedelta(days=7)


def bulk_send_purge_expired(*, now: datetime | None = None) -> int:
    """Delete uploads never confirmed after a day and finished runs' reports after a week (they name numbers).

    A run still queued or sending is never touched. Returns how many bulk sends were removed."""
    now = now or timezone.now()
    removed = 0
    root = _root()
    if not root.exists():
        return 0
    for state_path in root.glob("*/*/state.json"):
        try:
            bulk = _read_state(state_path)
        except (OSError, ValueError, TypeError):
            continue
        if bulk.status == BulkSendStatus.VALIDATED:
            expired = datetime.fromisoformat(bulk.created_at) < now - UNCONFIRMED_KEPT_FOR
        elif bulk.is_finished:
            expired = datetime.fromisoformat(bulk.finished_at) < now - FINISHED_KEPT_FOR
        else:
            expired = False
        if expired:
            shutil.rmtree(state_path.parent, ignore_errors=True)
            removed += 1
    return removed


@task(queue_name=TaskQueue.MAINTENANCE)
def purge_bulk_sends() -> int:
    """Periodic (hourly is plenty): drop expired CSV uploads and bulk-send reports."""
    return bulk_send_purge_expired()
