"""Re-applying erasures after a backup restore brought erased people back (`manage.py replay_erasures`), and
seeing that it is needed (the system check and the readiness answer).

The ledger lives in its own database (`privacy.data.ledger`) and keeps only keyed hashes, so the values are found
again by hashing each declared e-mail and phone column (read as a stream) and comparing. Legal holds keep what
they name, as in any erasure. The main database is then told which erasures it had forgotten (their jobs are
marked done again), so the check stops warning. Idempotent: a second run finds nothing left to change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from portal.crypto import keyed_hash
from portal.personal_data import By, Finder, PersonalData
from privacy.data.erasure_areas import AREA_ORDER, erase_area
from privacy.data.erasure_rules import Counts
from privacy.data.ledger import LedgerGap, ledger_ahead_of_main
from privacy.data.legal_holds import HoldScope
from privacy.data.models import (
    EMAIL_HASH_PURPOSE,
    PHONE_HASH_PURPOSE,
    ErasureJob,
    ErasureLedgerEntry,
    ErasureStatus,
    ErasureTask,
    ErasureTaskStatus,
)
from privacy.data.objections import canonical_phone
from privacy.data.registry import registry
from privacy.data.subjects import Subject
from privacy.routers import LEDGER_DATABASE


@dataclass
class ReplayResult:
    subjects: int = 0
    held: int = 0
    jobs_restored: int = 0
    per_area: dict[str, Counts] = field(default_factory=dict)


def _normalise_email(value: str) -> str:
    return value.strip().lower()


def _matching_values(entry: PersonalData, finder: Finder, wanted: set[str], purpose: str, normalise) -> set[str]:
    """Distinct values of a finder's column whose keyed hash is in `wanted` (read as a stream)."""
    model = entry.model_class
    found = set()
    values = (
        model._base_manager.exclude(**{finder.path: ""})
        .exclude(**{f"{finder.path}__isnull": True})
        .values_list(finder.path, flat=True)
        .distinct()
        .order_by()
    )
    for value in values.iterator(chunk_size=2000):
        if keyed_hash(normalise(value), purpose=purpose) in wanted:
            found.add(normalise(value))
    return found


def people_present(*, email_hashes: Iterable[str], phone_hashes: Iterable[str]) -> tuple[set[str], set[str]]:
    """(e-mail addresses, phone numbers) in the main database whose keyed hash is one of those given."""
    email_hashes, phone_hashes = set(email_hashes) - {""}, set(phone_hashes) - {""}
    emails: set[str] = set()
    phones: set[str] = set()
    if not email_hashes and not phone_hashes:
        return emails, phones
    for entry in registry().available():
        for finder in entry.finders:
            if finder.lookup or "__" in finder.path:
                # Free-text finders cannot be enumerated; related paths repeat a column found directly.
                continue
            if finder.by == By.EMAIL and email_hashes:
                emails |= _matching_values(entry, finder, email_hashes, EMAIL_HASH_PURPOSE, _normalise_email)
            elif finder.by == By.PHONE and phone_hashes:
                phones |= _matching_values(entry, finder, phone_hashes, PHONE_HASH_PURPOSE, canonical_phone)
    return emails, phones


def erased_people_back() -> tuple[int, list[LedgerGap]]:
    """(how many erased people the main database holds again, the ledger entries it had forgotten). Looks only
    into the entries the main database is behind on: without a restore there are none, and it costs two queries."""
    gaps = ledger_ahead_of_main()
    if not gaps:
        return 0, gaps
    emails, phones = people_present(
        email_hashes=[gap.entry.email_hash for gap in gaps], phone_hashes=[gap.entry.phone_hash for gap in gaps]
    )
    return len(emails) + len(phones), gaps


@transaction.atomic
def _main_database_remembers(gap: LedgerGap) -> bool:
    """Tell the main database an erasure it forgot happened: its job (restored or recreated) is done again."""
    entry = gap.entry
    job = ErasureJob.objects.select_for_update().filter(pk=gap.job.pk).first() if gap.job else None
    if job is None:
        job = ErasureJob.objects.create(
            subject_kind=entry.subject_kind,
            email_hash=entry.email_hash,
            phone_hash=entry.phone_hash,
            erase_after=entry.erased_at,
            ledger_key=entry.job_key or ErasureJob._meta.get_field("ledger_key").get_default(),
            status=ErasureStatus.RUNNING,
        )
        ErasureTask.objects.bulk_create([ErasureTask(job=job, area=area) for area in AREA_ORDER])
        created = True
    else:
        created = False
    now = timezone.now()
    job.tasks.filter(area__in=entry.areas).update(status=ErasureTaskStatus.DONE, finished_at=now, last_error="")
    if entry.completed_at is not None or created:
        job.tasks.exclude(status=ErasureTaskStatus.DONE).update(status=ErasureTaskStatus.DONE, finished_at=now)
        job.status = ErasureStatus.DONE
        job.email = ""
        job.phone_number = ""
        job.finished_at = entry.completed_at or now
        job.save(update_fields=["status", "email", "phone_number", "finished_at"])
    return created


def erasures_replay() -> ReplayResult:
    """Re-apply every erasure in the ledger (after a backup restore brought people back). Idempotent."""
    ledger = ErasureLedgerEntry.objects.using(LEDGER_DATABASE)
    result = ReplayResult()
    email_hashes = set(ledger.exclude(email_hash="").values_list("email_hash", flat=True))
    phone_hashes = set(ledger.exclude(phone_hash="").values_list("phone_hash", flat=True))
    emails, phones = people_present(email_hashes=email_hashes, phone_hashes=phone_hashes)
    users_by_email = dict(User.objects.filter(email__in=list(emails)).values_list("email", "pk")) if emails else {}
    subjects = [Subject.build(user_id=users_by_email.get(email), email=email) for email in sorted(emails)]
    subjects += [Subject.build(user_id=None, phone=phone) for phone in sorted(phones)]
    for subject in subjects:
        holds = HoldScope.for_subject(subject)
        result.subjects += 1
        for area in AREA_ORDER:
            counts = erase_area(area=area, subject=subject, holds=holds)
            result.per_area.setdefault(area, Counts()).add(counts)
        result.held += bool(holds.all())
    for gap in ledger_ahead_of_main():
        result.jobs_restored += _main_database_remembers(gap)
    if email_hashes or phone_hashes:
        ledger.update(last_replayed_at=timezone.now())
    if result.subjects:
        audit_log_record(
            event_type="privacy.erasures_replayed",
            extra={"subjects": result.subjects, "held": result.held},
        )
    return result
