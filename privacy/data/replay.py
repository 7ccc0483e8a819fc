"""Re-applying erasures after a backup restore brought erased people back (`manage.py replay_erasures`).

The ledger keeps only keyed hashes, so the values are found again by hashing each declared e-mail and phone column
(read as a stream) and comparing. Idempotent: a second run finds nothing left to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from portal.crypto import keyed_hash
from portal.personal_data import By, Finder, PersonalData
from privacy.data.erasure_areas import AREA_ORDER, erase_area
from privacy.data.erasure_rules import Counts
from privacy.data.legal_holds import holds_for
from privacy.data.models import EMAIL_HASH_PURPOSE, PHONE_HASH_PURPOSE, ErasureLedgerEntry
from privacy.data.objections import canonical_phone
from privacy.data.registry import registry
from privacy.data.subjects import Subject


@dataclass
class ReplayResult:
    subjects: int = 0
    held: int = 0
    per_area: dict[str, Counts] = field(default_factory=dict)


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


def erasures_replay() -> ReplayResult:
    """Re-apply every erasure in the ledger (after a backup restore brought people back). Idempotent."""
    ledger = ErasureLedgerEntry.objects.all()
    email_hashes = set(ledger.exclude(email_hash="").values_list("email_hash", flat=True))
    phone_hashes = set(ledger.exclude(phone_hash="").values_list("phone_hash", flat=True))
    result = ReplayResult()
    if not email_hashes and not phone_hashes:
        return result
    emails: set[str] = set()
    phones: set[str] = set()
    for entry in registry().available():
        for finder in entry.finders:
            if finder.lookup or "__" in finder.path:
                # Free-text finders cannot be enumerated; related paths repeat a column found directly.
                continue
            if finder.by == By.EMAIL and email_hashes:
                emails |= _matching_values(entry, finder, email_hashes, EMAIL_HASH_PURPOSE, lambda v: v.strip().lower())
            elif finder.by == By.PHONE and phone_hashes:
                phones |= _matching_values(entry, finder, phone_hashes, PHONE_HASH_PURPOSE, canonical_phone)
    subjects: list[Subject] = []
    users_by_email = dict(User.objects.filter(email__in=list(emails)).values_list("email", "pk")) if emails else {}
    for email in emails:
        subjects.append(Subject.build(user_id=users_by_email.get(email), email=email))
    for phone in phones:
        subjects.append(Subject.build(user_id=None, phone=phone))
    for subject in subjects:
        if holds_for(subject):
            result.held += 1
            continue
        result.subjects += 1
        for area in AREA_ORDER:
            result.per_area.setdefault(area, Counts()).add(erase_area(area=area, subject=subject))
    ledger.update(last_replayed_at=timezone.now())
    if result.subjects:
        audit_log_record(
            event_type="privacy.erasures_replayed",
            extra={"subjects": result.subjects, "held": result.held},
        )
    return result
