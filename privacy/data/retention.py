"""Retention: one rule per data category; a daily job deletes or pseudonymises what is older than its rule.

Rules live in `RetentionRule` (staff edit them in admin); a category without a row uses
settings.PRIVACY_RETENTION_DEFAULTS. Work goes in primary-key batches (bounded memory, short transactions), rows
under a legal hold (their organization, or the person by hashed e-mail/number) are skipped and counted, and every
category's run leaves a `PurgeLog` row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import APIRequestLog, AuditLog, LoginRecord, Membership, Organization, OrganizationStatus, User
from billing.models import CreditAccount, LedgerEntry, Payment, Receipt
from messaging.models import FINAL_MESSAGE_STATUSES, Message, OtpChallenge, WebhookDelivery, WebhookDeliveryStatus
from portal.crypto import keyed_hash
from portal.personal_data import ErasureArea
from portal.tenancy import TenantQuerySet
from privacy.data.dormancy import dormancy_notices_send, dormant_accounts_anonymise, dormant_accounts_due
from privacy.data.erasure_rules import erased_hash
from privacy.data.export_archive import export_file_delete
from privacy.data.legal_holds import active_holds
from privacy.data.models import (
    EMAIL_HASH_PURPOSE,
    PHONE_HASH_PURPOSE,
    DataExport,
    ExportStatus,
    PurgeLog,
    RetentionCategory,
    RetentionRule,
)
from privacy.data.objections import canonical_phone
from privacy.requests.models import (
    CLOSED_STATUSES,
    ERASED_EMAIL_HASH,
    ContactInquiry,
    DataSubjectRequest,
    InquiryStatus,
    RequestMessage,
)

logger = logging.getLogger(__name__)

ACTIONS = {
    RetentionCategory.MESSAGE_BODIES: "The text is blanked; the record of the message stays.",
    RetentionCategory.MESSAGE_METADATA: "The recipient's number is replaced by a pseudonym; counts stay.",
    RetentionCategory.LOGIN_RECORDS: "Deleted.",
    RetentionCategory.API_REQUEST_LOGS: "Deleted.",
    RetentionCategory.WEBHOOK_DELIVERY_LOGS: "Deleted (finished deliveries only).",
    RetentionCategory.EXPORT_FILES: "The encrypted file is deleted; the record that it was made stays.",
    RetentionCategory.CLOSED_REQUESTS: "Contact details removed; what was asked and done stays.",
    RetentionCategory.CLOSED_ORGANIZATION_BILLING: "Ledger, payments, receipts of a closed account deleted.",
    RetentionCategory.REQUEST_CORRESPONDENCE: "E-mail addresses and text removed; the record that we wrote stays.",
    RetentionCategory.OTP_RECORDS: "Deleted (the number each code went to).",
    RetentionCategory.CONTACT_INQUIRIES: "Deleted, once answered or closed.",
    RetentionCategory.AUDIT_EXTRA_DATA: "The details are emptied; what happened and when stays.",
    RetentionCategory.DORMANT_ACCOUNTS: (
        "Counted from your last sign-in. We e-mail you first; if you do not sign in, the account is anonymised."
    ),
}

# The data area of each category: a legal hold limited to one area holds only the categories of that area.
CATEGORY_AREAS = {
    RetentionCategory.MESSAGE_BODIES: ErasureArea.MESSAGES,
    RetentionCategory.MESSAGE_METADATA: ErasureArea.MESSAGES,
    RetentionCategory.WEBHOOK_DELIVERY_LOGS: ErasureArea.MESSAGES,
    RetentionCategory.OTP_RECORDS: ErasureArea.MESSAGES,
    RetentionCategory.LOGIN_RECORDS: ErasureArea.LOGS,
    RetentionCategory.API_REQUEST_LOGS: ErasureArea.LOGS,
    RetentionCategory.AUDIT_EXTRA_DATA: ErasureArea.LOGS,
    RetentionCategory.EXPORT_FILES: ErasureArea.EXPORTS,
    RetentionCategory.CLOSED_REQUESTS: ErasureArea.PRIVACY,
    RetentionCategory.REQUEST_CORRESPONDENCE: ErasureArea.PRIVACY,
    RetentionCategory.CONTACT_INQUIRIES: ErasureArea.PRIVACY,
    RetentionCategory.CLOSED_ORGANIZATION_BILLING: ErasureArea.BILLING,
    RetentionCategory.DORMANT_ACCOUNTS: ErasureArea.ACCOUNTS,
}


@dataclass(frozen=True)
class PublicRule:
    category: str
    label: str
    keep_days: int
    action: str
    description: str
    enabled: bool


def retention_rules_public() -> list[PublicRule]:
    """Every category's current rule (database row or settings default), for the public privacy page."""
    rows = {rule.category: rule for rule in RetentionRule.objects.all()}
    defaults = settings.PRIVACY_RETENTION_DEFAULTS
    rules = []
    for category in RetentionCategory:
        row = rows.get(category.value)
        rules.append(
            PublicRule(
                category=category.value,
                label=category.label,
                keep_days=row.keep_days if row else int(defaults[category.value]),
                action=ACTIONS[category],
                description=row.public_description if row else "",
                enabled=row.enabled if row else True,
            )
        )
    return rules


@transaction.atomic
def retention_rules_ensure() -> int:
    """Create the missing rows from the settings defaults (so staff see every category in admin)."""
    existing = set(RetentionRule.objects.values_list("category", flat=True))
    missing = [
        RetentionRule(category=category, keep_days=int(settings.PRIVACY_RETENTION_DEFAULTS[category]))
        for category in RetentionCategory.values
        if category not in existing
    ]
    RetentionRule.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


# --- holds ---


@dataclass
class Holds:
    organization_ids: set[int]
    subject_hashes: set[str]
    user_ids: set[int]

    @classmethod
    def load(cls, area: str = "") -> Holds:
        """The active holds (those limited to another data area than `area` do not count)."""
        active = active_holds()
        if area:
            active = active.filter(Q(area="") | Q(area=area))
        organization_ids = set(active.exclude(organization=None).values_list("organization_id", flat=True))
        subject_hashes = set(active.exclude(subject_hash="").values_list("subject_hash", flat=True))
        user_ids = set(
            Membership.objects.unscoped().filter(organization_id__in=organization_ids).values_list("user_id", flat=True)
        )
        if subject_hashes:
            # Few holds, so one pass over the users' identifiers is fine; only ids are kept.
            rows = User.objects.values_list("pk", "email", "phone_number").iterator(chunk_size=2000)
            for pk, email, phone in rows:
                if keyed_hash(email, purpose=EMAIL_HASH_PURPOSE) in subject_hashes or (
                    phone and keyed_hash(canonical_phone(phone), purpose=PHONE_HASH_PURPOSE) in subject_hashes
                ):
                    user_ids.add(pk)
        return cls(organization_ids=organization_ids, subject_hashes=subject_hashes, user_ids=user_ids)

    def phone_held(self, phone: str) -> bool:
        return bool(phone) and keyed_hash(canonical_phone(phone), purpose=PHONE_HASH_PURPOSE) in self.subject_hashes

    def email_held(self, email: str) -> bool:
        return bool(email) and keyed_hash(email, purpose=EMAIL_HASH_PURPOSE) in self.subject_hashes


# --- categories ---


@dataclass(frozen=True)
class Purge:
    """How one category is purged: candidates, the columns a hold needs, the hold test and the action per
    batch."""

    queryset: Callable[[object], models.QuerySet]  # cutoff -> rows past the rule
    hold_fields: tuple[str, ...]
    held: Callable[[Holds, dict], bool]
    apply: Callable[[list[int]], int]  # primary keys -> rows changed
    # Work before the purge (e.g. the notice that precedes anonymising a dormant account): (cutoff, held user ids,
    # dry_run) -> how many; counted in the result's `prepared`.
    prepare: Callable[..., int] | None = None


def _final_statuses():
    return list(FINAL_MESSAGE_STATUSES)


def _held_org_or_phone(holds: Holds, row: dict) -> bool:
    return row.get("organization_id") in holds.organization_ids or holds.phone_held(row.get("recipient", ""))


def _held_user(holds: Holds, row: dict) -> bool:
    return (
        row.get("user_id") in holds.user_ids
        or row.get("organization_id") in holds.organization_ids
        or holds.email_held(row.get("email_attempted") or row.get("email") or "")
    )


def _blank_bodies(pks: list[int]) -> int:
    # The body's search index goes with it: a purged text is no longer found by its words.
    return Message.objects.unscoped().filter(pk__in=pks).update(body="", body_terms="")


def _pseudonymise_recipients(pks: list[int]) -> int:
    messages = list(Message.objects.unscoped().filter(pk__in=pks).only("pk", "recipient", "recipient_hash"))
    hash_length = Message._meta.get_field("recipient_hash").max_length
    for message in messages:
        message.recipient = erased_hash(canonical_phone(message.recipient), max_length=None)
        # The lookup hash goes too (bulk_update does not refill it): the number no longer finds the message.
        message.recipient_hash = erased_hash(message.recipient_hash, max_length=hash_length)
    Message.objects.unscoped().bulk_update(messages, ["recipient", "recipient_hash"])
    return len(messages)


def _delete(model: type[models.Model]) -> Callable[[list[int]], int]:
    def apply(pks: list[int]) -> int:
        model._base_manager.filter(pk__in=pks).delete()  # purges cross organizations
        return len(pks)

    return apply


def _expire_exports(pks: list[int]) -> int:
    count = 0
    for export in DataExport.objects.filter(pk__in=pks):
        export_file_delete(export=export)
        count += 1
    DataExport.objects.filter(pk__in=pks).update(email="", email_hash="", phone_number="", phone_hash="", token_hash="")
    return count


def _anonymise_requests(pks: list[int]) -> int:
    requests = list(DataSubjectRequest.objects.filter(pk__in=pks))
    for request in requests:
        request.email = f"erased-request-{request.pk}@erased.invalid"
        request.email_hash = ERASED_EMAIL_HASH  # bulk_update does not refill the lookup hashes
        request.phone_hash = ""
        request.full_name = ""
        request.phone_number = ""
        request.details = ""
        request.requested_changes = {}
        request.submitted_ip = None
    DataSubjectRequest.objects.bulk_update(
        requests,
        [
            "email",
            "email_hash",
            "full_name",
            "phone_number",
            "phone_hash",
            "details",
            "requested_changes",
            "submitted_ip",
        ],
    )
    return len(requests)


def _held_organization(holds: Holds, row: dict) -> bool:
    return row["pk"] in holds.organization_ids


def _held_request_row(holds: Holds, row: dict) -> bool:
    return row.get("request__user_id") in holds.user_ids or holds.email_held(row.get("request__email") or "")


def _held_otp(holds: Holds, row: dict) -> bool:
    return row.get("organization_id") in holds.organization_ids or holds.phone_held(row.get("phone_number", ""))


def _held_audit(holds: Holds, row: dict) -> bool:
    return row.get("organization_id") in holds.organization_ids or row.get("actor_id") in holds.user_ids


def _held_dormant(holds: Holds, row: dict) -> bool:
    return row["pk"] in holds.user_ids or holds.email_held(row.get("email", ""))


def _scrub_correspondence(pks: list[int]) -> int:
    return RequestMessage.objects.filter(pk__in=pks).update(recipients=[], subject="", body="", erased_recipient="")


def _empty_audit_details(pks: list[int]) -> int:
    return AuditLog._base_manager.filter(pk__in=pks).update(extra_data={})


def _delete_base(model: type[models.Model]) -> Callable[[list[int]], int]:
    def apply(pks: list[int]) -> int:
        model._base_manager.filter(pk__in=pks).delete()
        return len(pks)

    return apply


def _closed_organizations_past(cutoff) -> models.QuerySet:
    """Closed organizations with billing rows but no billing activity since the cutoff."""
    has_billing = Q(ledger_entries__isnull=False) | Q(payments__isnull=False) | Q(credit_account__isnull=False)
    recent = (
        Q(ledger_entries__created_at__gte=cutoff)
        | Q(payments__created_at__gte=cutoff)
        | Q(receipts__issued_at__gte=cutoff)
    )
    recent_ids = Organization.objects.filter(recent).values("pk")
    return (
        Organization.objects.filter(status=OrganizationStatus.CLOSED)
        .filter(has_billing)
        .exclude(pk__in=recent_ids)
        .distinct()
    )


def _delete_billing(organization_ids: list[int]) -> int:
    """Receipts, ledger, payments and the credit account of these organizations, in dependency order."""
    deleted = 0
    for model in (Receipt, LedgerEntry, Payment, CreditAccount):
        count, _ = model.objects.filter(organization_id__in=organization_ids).delete()
        deleted += count
    return deleted


def _purges(now=None) -> dict[str, Purge]:
    return {
        RetentionCategory.MESSAGE_BODIES: Purge(
            queryset=lambda cutoff: (
                Message.objects.unscoped().filter(created_at__lt=cutoff, status__in=_final_statuses()).exclude(body="")
            ),
            hold_fields=("organization_id", "recipient"),
            held=_held_org_or_phone,
            apply=_blank_bodies,
        ),
        RetentionCategory.MESSAGE_METADATA: Purge(
            queryset=lambda cutoff: (
                Message.objects.unscoped()
                .filter(created_at__lt=cutoff, status__in=_final_statuses())
                .exclude(recipient_hash__startswith="h:")
            ),
            hold_fields=("organization_id", "recipient"),
            held=_held_org_or_phone,
            apply=_pseudonymise_recipients,
        ),
        RetentionCategory.LOGIN_RECORDS: Purge(
            queryset=lambda cutoff: LoginRecord.objects.filter(created_at__lt=cutoff),
            hold_fields=("user_id", "email_attempted"),
            held=_held_user,
            apply=_delete(LoginRecord),
        ),
        RetentionCategory.API_REQUEST_LOGS: Purge(
            queryset=lambda cutoff: APIRequestLog.objects.unscoped().filter(created_at__lt=cutoff),
            hold_fields=("user_id", "organization_id"),
            held=_held_user,
            apply=_delete(APIRequestLog),
        ),
        RetentionCategory.WEBHOOK_DELIVERY_LOGS: Purge(
            queryset=lambda cutoff: (
                WebhookDelivery.objects.unscoped()
                .filter(created_at__lt=cutoff)
                .exclude(status=WebhookDeliveryStatus.PENDING)
            ),
            hold_fields=("organization_id",),
            held=_held_user,
            apply=_delete(WebhookDelivery),
        ),
        RetentionCategory.EXPORT_FILES: Purge(
            queryset=lambda cutoff: DataExport.objects.filter(created_at__lt=cutoff).exclude(
                file_name="", status=ExportStatus.EXPIRED, email="", phone_number=""
            ),
            hold_fields=("user_id", "email"),
            held=_held_user,
            apply=_expire_exports,
        ),
        RetentionCategory.CLOSED_REQUESTS: Purge(
            queryset=lambda cutoff: DataSubjectRequest.objects.filter(
                status__in=list(CLOSED_STATUSES), closed_at__lt=cutoff
            ).exclude(email_hash=ERASED_EMAIL_HASH),
            hold_fields=("user_id", "email"),
            held=_held_user,
            apply=_anonymise_requests,
        ),
        RetentionCategory.CLOSED_ORGANIZATION_BILLING: Purge(
            queryset=_closed_organizations_past,
            hold_fields=(),
            held=_held_organization,
            apply=_delete_billing,
        ),
        RetentionCategory.REQUEST_CORRESPONDENCE: Purge(
            queryset=lambda cutoff: RequestMessage.objects.filter(
                request__status__in=list(CLOSED_STATUSES), request__closed_at__lt=cutoff
            ).exclude(body=""),
            hold_fields=("request__user_id", "request__email"),
            held=_held_request_row,
            apply=_scrub_correspondence,
        ),
        RetentionCategory.OTP_RECORDS: Purge(
            queryset=lambda cutoff: OtpChallenge._base_manager.filter(created_at__lt=cutoff),
            hold_fields=("organization_id", "phone_number"),
            held=_held_otp,
            apply=_delete_base(OtpChallenge),
        ),
        RetentionCategory.CONTACT_INQUIRIES: Purge(
            queryset=lambda cutoff: ContactInquiry.objects.filter(received_at__lt=cutoff).exclude(
                status=InquiryStatus.OPEN
            ),
            hold_fields=("user_id", "email"),
            held=_held_user,
            apply=_delete(ContactInquiry),
        ),
        RetentionCategory.AUDIT_EXTRA_DATA: Purge(
            queryset=lambda cutoff: AuditLog._base_manager.filter(created_at__lt=cutoff).exclude(extra_data={}),
            hold_fields=("organization_id", "actor_id"),
            held=_held_audit,
            apply=_empty_audit_details,
        ),
        RetentionCategory.DORMANT_ACCOUNTS: Purge(
            queryset=dormant_accounts_due,
            hold_fields=("email",),
            held=_held_dormant,
            apply=lambda pks: dormant_accounts_anonymise(pks, now=now or timezone.now()),
            prepare=dormancy_notices_send,
        ),
    }


# --- running ---


@dataclass
class CategoryResult:
    category: str
    keep_days: int
    cutoff: object
    affected: int = 0
    held: int = 0
    prepared: int = 0
    skipped: str = ""


def _rules() -> dict[str, tuple[int, bool]]:
    rows = {rule.category: (rule.keep_days, rule.enabled) for rule in RetentionRule.objects.all()}
    defaults = settings.PRIVACY_RETENTION_DEFAULTS
    return {category: rows.get(category, (int(defaults[category]), True)) for category in RetentionCategory.values}


def _batches(qs: models.QuerySet, fields: Iterable[str], batch_size: int):
    if isinstance(qs, TenantQuerySet):
        qs = qs.unscoped()  # retention purges every organization's expired rows
    last = None
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page.values("pk", *fields)[:batch_size])
        if not rows:
            return
        yield rows
        last = rows[-1]["pk"]


def retention_run(*, dry_run: bool = False, now=None, categories: Iterable[str] | None = None) -> list[CategoryResult]:
    """Purge every category past its rule (or, with dry_run, only count). Returns one result per category."""
    now = now or timezone.now()
    purges = _purges(now)
    batch_size = settings.PRIVACY_RETENTION_BATCH_SIZE
    results = []
    for category, (keep_days, enabled) in _rules().items():
        if categories is not None and category not in categories:
            continue
        cutoff = now - timedelta(days=keep_days)
        result = CategoryResult(category=category, keep_days=keep_days, cutoff=cutoff)
        results.append(result)
        if not enabled:
            result.skipped = "rule disabled"
            continue
        purge = purges[category]
        holds = Holds.load(area=CATEGORY_AREAS.get(category, ""))
        log = None if dry_run else PurgeLog.objects.create(category=category, keep_days=keep_days, cutoff=cutoff)
        try:
            if purge.prepare is not None:
                result.prepared = purge.prepare(cutoff=cutoff, held_user_ids=holds.user_ids, dry_run=dry_run)
            for rows in _batches(purge.queryset(cutoff), purge.hold_fields, batch_size):
                free = [row["pk"] for row in rows if not purge.held(holds, row)]
                result.held += len(rows) - len(free)
                if free and not dry_run:
                    with transaction.atomic():
                        result.affected += purge.apply(free)
                elif dry_run:
                    result.affected += len(free)
        except Exception as exc:  # one category's failure is logged on its PurgeLog; the others still run
            logger.exception("retention %s failed", category)
            if log is not None:
                log.error = f"{exc!r}"[:2000]
            result.skipped = f"error: {exc!r}"
        if log is not None:
            log.rows_affected = result.affected
            log.rows_held = result.held
            log.finished_at = timezone.now()
            log.save()
    return results
