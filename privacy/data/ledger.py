"""The erasure ledger: who was erased (keyed hashes only), kept in its own database (`erasure_ledger`).

A restore of the main database cannot reach it, so after a restore the ledger knows erasures the main database has
forgotten. Each erasure writes its entry before it erases an area and records the area once it is done, so the
ledger is never behind the main database; it is ahead only when the main database was restored from a backup.

- `ledger_*`: the writes an erasure makes, one short transaction on the ledger database each.
- `ledger_ahead_of_main`: entries the main database does not know are done (a restore brought back the time
  before them); `privacy.data.replay` re-applies them and tells the main database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from privacy.data.models import ErasureJob, ErasureLedgerEntry, ErasureStatus, ErasureTaskStatus
from privacy.data.subjects import Subject
from privacy.routers import LEDGER_DATABASE


def _entries():
    return ErasureLedgerEntry.objects.using(LEDGER_DATABASE)


def ledger_entry_open(*, job: ErasureJob, subject: Subject) -> ErasureLedgerEntry:
    """The job's entry, written before its first area is erased (hashes only). Idempotent."""
    with transaction.atomic(using=LEDGER_DATABASE):
        entry, _ = _entries().get_or_create(
            job_key=job.ledger_key,
            defaults={
                "job_id_ref": job.pk,
                "subject_kind": job.subject_kind,
                "email_hash": subject.email_hash,
                "phone_hash": subject.phone_hash,
            },
        )
    return entry


def ledger_area_done(*, job: ErasureJob, area: str) -> None:
    """Record that `area` is erased for the job (after the main database committed it)."""
    with transaction.atomic(using=LEDGER_DATABASE):
        entry = _entries().select_for_update().filter(job_key=job.ledger_key).first()
        if entry is not None and area not in entry.areas:
            entry.areas = [*entry.areas, area]
            entry.save(update_fields=["areas"])


def ledger_complete(*, job: ErasureJob) -> None:
    _entries().filter(job_key=job.ledger_key, completed_at__isnull=True).update(completed_at=timezone.now())


@dataclass(frozen=True)
class LedgerGap:
    """A ledger entry the main database does not know is done (it was restored from before it)."""

    entry: ErasureLedgerEntry
    job: ErasureJob | None  # the main database's copy of the erasure, if the backup holds it


def _main_knows(entry: ErasureLedgerEntry, job: ErasureJob | None) -> bool:
    if job is None:
        return False
    if job.status == ErasureStatus.DONE:
        return True
    if entry.completed_at is not None:
        return False
    done = {task.area for task in job.tasks.all() if task.status == ErasureTaskStatus.DONE}
    return set(entry.areas) <= done


def ledger_ahead_of_main() -> list[LedgerGap]:
    """Every ledger entry whose erasure the main database has not (fully) recorded. Two queries per database: cheap
    enough for a readiness probe, since a database that was never restored has no gap to look into."""
    entries = list(_entries().order_by("erased_at", "pk"))
    if not entries:
        return []
    keys = [entry.job_key for entry in entries if entry.job_key is not None]
    legacy = [entry.job_id_ref for entry in entries if entry.job_key is None and entry.job_id_ref is not None]
    jobs = ErasureJob.objects.filter(ledger_key__in=keys).prefetch_related("tasks") if keys else []
    by_key = {job.ledger_key: job for job in jobs}
    legacy_jobs = {job.pk: job for job in ErasureJob.objects.filter(pk__in=legacy)} if legacy else {}
    gaps = []
    for entry in entries:
        if entry.job_key is not None:
            job = by_key.get(entry.job_key)
        else:
            # Entries written before the ledger had its own database: the job id, checked by the hashes.
            job = legacy_jobs.get(entry.job_id_ref)
            if job is not None and (job.email_hash, job.phone_hash) != (entry.email_hash, entry.phone_hash):
                job = None
        if not _main_knows(entry, job):
            gaps.append(LedgerGap(entry=entry, job=job))
    return gaps
