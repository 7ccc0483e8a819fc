"""Personal data held by privacy itself (requests, inquiries, exports, objections) and by the task queue.

Read by `privacy.data.registry`. Rows found through a request (events, messages, evidence) come before the request,
whose contact details are replaced last. The record that a request was made and answered is kept (accountability,
Data Privacy Act sec. 21 and NPC Circular 2016-01), without the person's contact details.
"""

from portal.personal_data import DELETE_ROW, SCRUB, SET_EMPTY, By, Category, ErasureArea, Finder, PersonalData, constant
from privacy.requests.models import ERASED_EMAIL_HASH

PERSONAL = Category.PERSONAL_INFORMATION
USAGE = Category.USAGE_DATA
ACCOUNT = Category.ACCOUNT_INFORMATION
TECHNICAL = Category.TECHNICAL_DATA

COMPLIANCE_GROUND = "Record of compliance (Data Privacy Act sec. 21, accountability); kept without contact details."
ERASURE_JOB_GROUND = "Encrypted at rest and blanked when the erasure finishes; needed to run it."


def _request_finders(prefix: str, erase: dict) -> tuple[Finder, ...]:
    return (
        Finder(By.USER, f"{prefix}user", erase, export=()),
        Finder(By.EMAIL, f"{prefix}email", erase, export=()),
        Finder(By.PHONE, f"{prefix}phone_number", erase, export=()),
    )


PERSONAL_DATA = [
    PersonalData(
        model="privacy.RequestEvent",
        area=ErasureArea.PRIVACY,
        description="Steps of your privacy requests.",
        fields={},
        finders=(
            *_request_finders("request__", {"note": SCRUB}),
            Finder(By.USER, "actor", {"actor": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="privacy.RequestMessage",
        area=ErasureArea.PRIVACY,
        description="E-mails and SMS about your privacy requests.",
        fields={},
        finders=(
            *_request_finders(
                "request__", {"recipients": SCRUB, "subject": SCRUB, "body": SCRUB, "erased_recipient": SET_EMPTY}
            ),
            Finder(By.USER, "sent_by", {"sent_by": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="privacy.ReminderSent",
        area=ErasureArea.PRIVACY,
        description="Reminders about your privacy requests (to whom they went).",
        fields={},
        finders=_request_finders("request__", {"sent_to": SCRUB}),
    ),
    PersonalData(
        model="privacy.PhoneProof",
        area=ErasureArea.PRIVACY,
        description="Mobile numbers you proved are yours (by SMS code, or checked by our staff).",
        fields={"phone_number": PERSONAL, "method": ACCOUNT, "proven_at": ACCOUNT, "despite_opt_out": ACCOUNT},
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="numbers you proved"),
            Finder(By.PHONE, "phone_number", DELETE_ROW, label="proofs of your number"),
            *_request_finders("request__", DELETE_ROW),
            Finder(By.USER, "proven_by", {"proven_by": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="privacy.SuppressionException",
        area=ErasureArea.PRIVACY,
        description="Codes you asked us to send to your number although it opted out of SMS (kept as a hash).",
        fields={"reason": ACCOUNT, "created_at": ACCOUNT},
        finders=(
            Finder(By.PHONE_HASH, "phone_hash", {}, label="codes sent to your number at your request"),
            Finder(By.USER, "requested_by", {"requested_by": SET_EMPTY}, export=()),
        ),
        kept={"phone_hash": "A keyed hash only; the record that you asked for the code despite your objection."},
    ),
    PersonalData(
        model="privacy.DormancyNotice",
        area=ErasureArea.ACCOUNTS,
        description="Notices that your account would be anonymised after a long time without sign-in.",
        fields={"inactive_since": ACCOUNT, "notified_at": ACCOUNT},
        finders=(Finder(By.USER, "user", DELETE_ROW, label="notices about your inactive account"),),
    ),
    PersonalData(
        model="privacy.RequestEvidence",
        area=ErasureArea.PRIVACY,
        description="Evidence staff attached to your privacy requests.",
        fields={},
        finders=(
            *_request_finders("request__", {"label": SCRUB, "note": SCRUB}),
            Finder(By.USER, "added_by", {"added_by": SET_EMPTY}, export=()),
        ),
        kept={"file": COMPLIANCE_GROUND},
    ),
    PersonalData(
        model="privacy.DataSubjectRequest",
        area=ErasureArea.PRIVACY,
        description="Your privacy requests: what you asked, when, and how it was answered.",
        fields={
            "kind": ACCOUNT,
            "status": ACCOUNT,
            "received_at": ACCOUNT,
            "closed_at": ACCOUNT,
            "full_name": PERSONAL,
            "email": PERSONAL,
            "phone_number": PERSONAL,
            "details": ACCOUNT,
            "submitted_ip": TECHNICAL,
        },
        finders=tuple(
            Finder(
                by,
                path,
                {
                    "email": constant("erased-request-{pk}@erased.invalid"),
                    # The lookup hashes go with the values (a row update does not refill them).
                    "email_hash": constant(ERASED_EMAIL_HASH),
                    "full_name": SET_EMPTY,
                    "phone_number": SET_EMPTY,
                    "phone_hash": SET_EMPTY,
                    "details": SET_EMPTY,
                    "requested_changes": SET_EMPTY,
                    "rejection_reason": SCRUB,
                    "resolution_note": SCRUB,
                    "last_error": SCRUB,
                    "submitted_ip": SET_EMPTY,
                    "user": SET_EMPTY,
                },
                label="your privacy requests",
            )
            for by, path in ((By.USER, "user"), (By.EMAIL, "email"), (By.PHONE, "phone_number"))
        )
        + (
            Finder(By.USER, "assignee", {"assignee": SET_EMPTY}, export=()),
            Finder(By.USER, "extended_by", {"extended_by": SET_EMPTY}, export=()),
        ),
        kept={"kind": COMPLIANCE_GROUND},
    ),
    PersonalData(
        model="privacy.ContactInquiry",
        area=ErasureArea.PRIVACY,
        description="Messages you sent through the contact form, and our answers.",
        fields={
            "full_name": PERSONAL,
            "email": PERSONAL,
            "phone_number": PERSONAL,
            "subject": ACCOUNT,
            "message": ACCOUNT,
            "answer": ACCOUNT,
            "received_at": ACCOUNT,
            "submitted_ip": TECHNICAL,
        },
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="your inquiries"),
            Finder(By.EMAIL, "email", DELETE_ROW, label="inquiries from your address"),
            Finder(By.PHONE, "phone_number", DELETE_ROW, label="inquiries with your number"),
            Finder(By.USER, "assignee", {"assignee": SET_EMPTY}, export=()),
            Finder(By.USER, "answered_by", {"answered_by": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="privacy.PolicyAcknowledgement",
        area=ErasureArea.PRIVACY,
        description="When you acknowledged a version of the privacy policy.",
        fields={"policy_version__version": ACCOUNT, "acknowledged_at": ACCOUNT, "ip_address": TECHNICAL},
        finders=(Finder(By.USER, "user", DELETE_ROW, label="your acknowledgements"),),
    ),
    PersonalData(
        model="privacy.PolicyVersion",
        area=ErasureArea.PRIVACY,
        description="Versions of the privacy policy (staff who published them).",
        fields={},
        finders=(Finder(By.USER, "published_by", {"published_by": SET_EMPTY}, export=()),),
        kept={"body_markdown": "The public policy text; not about a person."},
    ),
    PersonalData(
        model="privacy.Suppression",
        area=ErasureArea.PRIVACY,
        description="Your wish not to receive messages at your number (kept as a hash only).",
        fields={"source": ACCOUNT, "created_at": ACCOUNT, "removed_at": ACCOUNT},
        finders=(
            # Kept through erasure: forgetting it would start sending to the person again.
            Finder(By.PHONE_HASH, "phone_hash", {}, label="your 'do not send' wish"),
            Finder(By.USER, "created_by", {"created_by": SET_EMPTY}, export=()),
            Finder(By.USER, "removed_by", {"removed_by": SET_EMPTY}, export=()),
        ),
        kept={"phone_hash": "A keyed hash only; honours the objection (DPA sec. 16(e)) after erasure."},
    ),
    PersonalData(
        model="privacy.ProcessingObjection",
        area=ErasureArea.PRIVACY,
        description="Your preferences: optional processing you objected to.",
        fields={"processing": ACCOUNT, "created_at": ACCOUNT, "withdrawn_at": ACCOUNT},
        finders=(Finder(By.USER, "user", DELETE_ROW, label="your objections"),),
    ),
    PersonalData(
        model="privacy.DataExportDownload",
        area=ErasureArea.EXPORTS,
        description="Downloads of your data exports: when, from which IP address and browser.",
        fields={"downloaded_at": TECHNICAL, "ip_address": TECHNICAL, "user_agent": TECHNICAL},
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="your downloads"),
            Finder(By.EMAIL, "export__email", DELETE_ROW, label="downloads of your exports"),
            Finder(By.PHONE, "export__phone_number", DELETE_ROW, label="downloads of your exports"),
        ),
    ),
    PersonalData(
        model="privacy.DataExport",
        area=ErasureArea.EXPORTS,
        description="Copies of your data you asked for (the files are deleted with the rows).",
        fields={"status": ACCOUNT, "created_at": ACCOUNT, "ready_at": ACCOUNT, "expires_at": ACCOUNT},
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="your exports"),
            Finder(By.EMAIL, "email", DELETE_ROW, label="exports for your address"),
            Finder(By.PHONE, "phone_number", DELETE_ROW, label="exports for your number"),
            Finder(By.USER, "created_by", {"created_by": SET_EMPTY}, export=()),
        ),
        kept={"file_name": "A random name; the file itself is deleted with the row."},
    ),
    PersonalData(
        model="privacy.ErasureJob",
        area=ErasureArea.PRIVACY,
        description="Erasures (identifiers encrypted until done, then blanked).",
        fields={},
        finders=(Finder(By.USER, "created_by", {"created_by": SET_EMPTY}, export=()),),
        kept={
            "user": ERASURE_JOB_GROUND,
            "email": ERASURE_JOB_GROUND,
            "phone_number": ERASURE_JOB_GROUND,
            "email_hash": ERASURE_JOB_GROUND,
            "phone_hash": ERASURE_JOB_GROUND,
        },
    ),
    PersonalData(
        model="privacy.LegalHold",
        area=ErasureArea.PRIVACY,
        description="Legal holds (staff who placed or released them).",
        fields={},
        finders=(
            Finder(By.USER, "placed_by", {"placed_by": SET_EMPTY}, export=()),
            Finder(By.USER, "released_by", {"released_by": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="privacy.RetentionRule",
        area=ErasureArea.PRIVACY,
        description="Retention rules (staff who changed them).",
        fields={},
        finders=(Finder(By.USER, "updated_by", {"updated_by": SET_EMPTY}, export=()),),
    ),
]

EXCLUDED = {
    "privacy.ErasureLedgerEntry": "Keyed hashes only; kept so erasures are re-applied after a restore.",
    "privacy.Holiday": "Names of public holidays.",
    "privacy.ErasureTask": "Per-area status and counts of an erasure; its errors are scrubbed of the identifiers.",
    "privacy.FulfilmentStep": "Status, attempts and errors of a request's steps; no contact details.",
    "privacy.PurgeLog": "Counts of each retention run.",
    "portal.PeriodicRun": "Which periodic job ran when; nothing about a person.",
    "django_tasks_database.DBTaskResult": (
        "Queue and backend names; task arguments are ids only (house rule), never e-mail addresses or numbers."
    ),
}
