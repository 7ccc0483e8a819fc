"""Which retention rule covers each table of the personal-data registry, or why a table needs none.

`privacy.checks` fails `manage.py check` when a registry table is in neither list: a new table with personal data
cannot be kept forever by oversight. A rule covers a table when its purge deletes or empties that table's personal
columns (or the row they hang on).
"""

from privacy.data.models import RetentionCategory

COVERED_BY: dict[str, tuple[str, ...]] = {
    RetentionCategory.MESSAGE_BODIES: ("messaging.Message",),
    RetentionCategory.MESSAGE_METADATA: ("messaging.Message",),
    RetentionCategory.LOGIN_RECORDS: ("accounts.LoginRecord",),
    RetentionCategory.API_REQUEST_LOGS: ("accounts.APIRequestLog",),
    RetentionCategory.WEBHOOK_DELIVERY_LOGS: ("messaging.WebhookDelivery",),
    RetentionCategory.EXPORT_FILES: ("privacy.DataExport",),
    RetentionCategory.CLOSED_REQUESTS: ("privacy.DataSubjectRequest",),
    RetentionCategory.CLOSED_ORGANIZATION_BILLING: ("billing.LedgerEntry", "billing.Payment", "billing.Receipt"),
    RetentionCategory.REQUEST_CORRESPONDENCE: ("privacy.RequestMessage",),
    RetentionCategory.OTP_RECORDS: ("messaging.OtpChallenge",),
    RetentionCategory.CONTACT_INQUIRIES: ("privacy.ContactInquiry",),
    RetentionCategory.AUDIT_EXTRA_DATA: ("accounts.AuditLog",),
    # A dormant account is anonymised by an erasure: everything found through the account goes with it.
    RetentionCategory.DORMANT_ACCOUNTS: (
        "accounts.User",
        "account.EmailAddress",
        "account.EmailConfirmation",
        "mfa.Authenticator",
        "accounts.Membership",
        "accounts.APIKey",
        "accounts.Invitation",
        "privacy.PolicyAcknowledgement",
        "privacy.ProcessingObjection",
        "privacy.PhoneProof",
        "privacy.DormancyNotice",
        "privacy.DataExportDownload",
    ),
}

NO_RULE_NEEDED: dict[str, str] = {
    "messaging.DispatchAttempt": "Holds a person's data only in provider error texts, cleared when they are erased.",
    "messaging.DeliveryReceipt": "Holds a person's data only in provider error texts, cleared when they are erased.",
    "messaging.IdempotencyKey": "A stored API answer, replayed for 24 hours, then worthless; erased with the number.",
    "messaging.Notice": "A notice to every customer; the only person in it is the staff member who published it.",
    "messaging.NoticeDismissal": "Which notice a person hid; goes with the notice's row or with the person's account.",
    "messaging.Contact": "An organization's address book, kept until it deletes the contact; erased with the number.",
    "messaging.OptOut": "Kept while the organization must not send to the number; erased with the number.",
    "messaging.Campaign": "A named bulk send; the only person in it is the user who composed it, unlinked on erasure.",
    "admin.LogEntry": "Staff actions in admin; staff accounts are not dormant-purged, and erasure removes them.",
    "privacy.RequestEvent": "The record of compliance of a request; the closed-requests rule removes who asked.",
    "privacy.RequestEvidence": "The record of compliance of a request; the closed-requests rule removes who asked.",
    "privacy.ReminderSent": "Reminders of a request, to staff or the requester; erased with the requester.",
    "privacy.PolicyVersion": "The public policy text; only names the staff member who published it.",
    "privacy.RetentionRule": "The rules themselves; only names the staff member who changed them.",
    "privacy.LegalHold": "Kept while the hold stands (keyed hashes); names the staff who placed or released it.",
    "privacy.ErasureJob": "Identifiers are encrypted and blanked when the erasure finishes.",
    "privacy.Suppression": "A keyed hash kept as long as the objection stands: forgetting it would send again.",
    "privacy.SuppressionException": "A keyed hash: the record that the person asked for a code despite the objection.",
}


def uncovered(labels) -> list[str]:
    """Registry tables that no rule covers and that have no reason to need none."""
    covered = {label for labels_ in COVERED_BY.values() for label in labels_}
    return sorted(label for label in labels if label not in covered and label not in NO_RULE_NEEDED)
