"""Access exports: asking for one (built in the background, the link e-mailed when ready) and downloading it.

The archive itself is `privacy.data.export_archive`. A download needs the secret link or the owner's session;
anything else is the same 404, and every download is logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_log_record
from portal.encrypted_files import decrypt_stream
from portal.errors import ApplicationError, NotFound
from privacy.data.export_archive import export_path, token_hash
from privacy.data.models import DataExport, DataExportDownload, ExportStatus
from privacy.data.subjects import Subject
from privacy.data.tasks import export_build_task


@transaction.atomic
def export_create(
    *,
    subject_kind: str,
    user=None,
    email: str = "",
    phone_number: str = "",
    request_id: int | None = None,
    actor=None,
) -> DataExport:
    subject = Subject.build(user_id=user.pk if user else None, email=email, phone=phone_number)
    if not (subject.user_id or subject.email or subject.phone):
        raise ApplicationError("Nothing identifies whose data to export.", code="no_identifier")
    export = DataExport.objects.create(
        request_id=request_id,
        subject_kind=subject_kind,
        user=user,
        email=subject.email,
        phone_number=subject.phone,
        created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    audit_log_record(event_type="privacy.export_started", actor=actor, target=export, extra={"request": request_id})
    transaction.on_commit(partial(export_build_task.enqueue, export_id=export.pk))
    return export


def export_download(
    *, export_id: int, token_or_user, ip: str | None, user_agent: str = ""
) -> tuple[str, Iterator[bytes]]:
    """Check the link, log the download, and return (file name, plaintext chunks of the ZIP).

    `token_or_user` is the secret token from the e-mailed link (str), or the signed-in user, who must be the export's
    owner. Anything else — wrong token, another user, unknown id — is the same 404.
    """
    if isinstance(token_or_user, str):
        user = None
        export = DataExport.objects.filter(pk=export_id).exclude(token_hash="").first()
        # The hash is compared in constant time rather than looked up, so timing says nothing about it.
        allowed = export is not None and hmac.compare_digest(export.token_hash, token_hash(token_or_user))
    else:
        user = token_or_user if getattr(token_or_user, "is_authenticated", False) else None
        # The owner filter is in the query: another person's export is not even loaded.
        export = DataExport.objects.filter(pk=export_id, user=user).first() if user is not None else None
        allowed = export is not None
    if not allowed:
        raise NotFound("No such export.")
    if export.status == ExportStatus.EXPIRED or (export.expires_at and export.expires_at <= timezone.now()):
        raise ApplicationError(
            "This download link has expired (links last 7 days). Ask for a new copy of your data.",
            code="export_expired",
            status=410,
        )
    if export.status != ExportStatus.READY or not export.file_name:
        raise ApplicationError("This export is not ready yet.", code="export_not_ready", status=409)
    path = export_path(export)
    if not path.exists():
        raise NotFound("The export file is gone; ask for a new copy of your data.")
    DataExportDownload.objects.create(
        export=export,
        user=user,
        via_token=user is None,
        ip_address=ip or None,
        user_agent=(user_agent or "")[:1000],
    )
    filename = f"personal-data-export-{export.pk}.zip"
    return filename, decrypt_stream(path)
