"""Personal data held by messaging: messages (to a recipient's number, sent by a user), OTPs, webhook logs.

Read by `privacy.data.registry`. Order matters within the area: rows found through `message__recipient` are handled
before `messaging.Message` itself, whose recipient is replaced by a keyed hash (so counts per number survive).
"""

from messaging.contacts import personal_data as contacts_personal_data
from portal.personal_data import (
    DELETE_ROW,
    HASH,
    SCRUB,
    SET_EMPTY,
    By,
    Category,
    ErasureArea,
    Finder,
    PersonalData,
    constant,
)

PERSONAL = Category.PERSONAL_INFORMATION
USAGE = Category.USAGE_DATA

ORG_SENDER_ID = "The organization's registered sender name (a brand), not a person."

PERSONAL_DATA = [
    PersonalData(
        model="messaging.DispatchAttempt",
        area=ErasureArea.MESSAGES,
        description="Hand-overs of messages to SMS providers.",
        fields={},
        finders=(
            # Provider error texts sometimes quote the number.
            Finder(By.PHONE, "message__recipient", {"error_message": SET_EMPTY}, export=()),
        ),
        kept={"sender_name": ORG_SENDER_ID},
    ),
    PersonalData(
        model="messaging.DeliveryReceipt",
        area=ErasureArea.MESSAGES,
        description="Delivery reports from providers.",
        fields={},
        finders=(Finder(By.PHONE, "message__recipient", {"error_message": SET_EMPTY}, export=()),),
    ),
    PersonalData(
        model="messaging.WebhookDelivery",
        area=ErasureArea.MESSAGES,
        description="Status events sent to an organization's webhook; the payload names the recipient.",
        fields={},
        # The payload is encrypted: its rows are found through their message's number (its keyed hash).
        finders=(Finder(By.PHONE, "message__recipient", {"payload": SCRUB, "last_error": SCRUB}, export=()),),
    ),
    PersonalData(
        model="messaging.IdempotencyKey",
        area=ErasureArea.MESSAGES,
        description="Stored API answers replayed for 24 hours; an answer can list recipients.",
        fields={},
        # The answer is encrypted: its rows are found through the lookup hashes of the numbers it names.
        finders=(Finder(By.PHONE_LOOKUP_HASH_LIST, "recipient_hashes", DELETE_ROW, export=()),),
    ),
    PersonalData(
        model="messaging.OtpChallenge",
        area=ErasureArea.MESSAGES,
        description="One-time passwords sent to your number (the codes are stored only as hashes).",
        fields={
            "phone_number": PERSONAL,
            "organization__name": USAGE,
            "created_at": USAGE,
            "verified_at": USAGE,
        },
        finders=(Finder(By.PHONE, "phone_number", DELETE_ROW, label="one-time passwords sent to your number"),),
    ),
    PersonalData(
        model="messaging.Message",
        area=ErasureArea.MESSAGES,
        description="Message logs: messages to your number (with the sending organization) or sent by you.",
        fields={
            "organization__name": USAGE,
            "recipient": PERSONAL,
            "body": USAGE,
            "sender_name": USAGE,
            "status": USAGE,
            "channel": USAGE,
            "segments": USAGE,
            "created_at": USAGE,
            "sent_at": USAGE,
            "delivered_at": USAGE,
        },
        finders=(
            Finder(
                By.PHONE,
                "recipient",
                # delivery_body: a one-time code's readable text, kept only until the code expires.
                {
                    "recipient": HASH,
                    # Pseudonymised too: the message is no longer found by the number, counts per number survive.
                    "recipient_hash": HASH,
                    "body": constant(""),
                    # The body's search index goes with it: the erased message is no longer found by its words.
                    "body_terms": constant(""),
                    "delivery_body": SET_EMPTY,
                    "error_message": SET_EMPTY,
                },
                label="messages sent to your number",
            ),
            # Messages a user sent belong to the organization and went to other people: only the link goes, and
            # the export lists them without recipients or text.
            Finder(
                By.USER,
                "created_by",
                {"created_by": SET_EMPTY},
                export=("organization__name", "status", "channel", "segments", "created_at", "sent_at"),
                label="messages you sent (without recipients or text)",
            ),
        ),
        kept={"sender_name": ORG_SENDER_ID, "requested_sender_name": ORG_SENDER_ID},
    ),
    PersonalData(
        model="messaging.Notice",
        area=ErasureArea.MESSAGES,
        description="Site notices published by staff.",
        fields={},
        finders=(
            Finder(By.USER, "published_by", {"published_by": SET_EMPTY}, export=()),
            Finder(By.USER, "withdrawn_by", {"withdrawn_by": SET_EMPTY}, export=()),
        ),
        kept={"body": "A notice written for every customer; not about a person."},
    ),
    PersonalData(
        model="messaging.NoticeDismissal",
        area=ErasureArea.MESSAGES,
        description="Site notices you dismissed (NoticeDismissal), so they stay hidden when you sign in again.",
        fields={"notice__title": USAGE, "dismissed_at": USAGE},
        finders=(Finder(By.USER, "user", DELETE_ROW, label="site notices you dismissed"),),
    ),
    *contacts_personal_data.PERSONAL_DATA,
]

EXCLUDED = {
    "messaging.Provider": f"An SMS provider route; its name and sender name are companies'. {ORG_SENDER_ID}",
    "messaging.ProviderMonthlyUsage": "Messages per provider and month; counts only.",
    "messaging.MessageDailyCount": "Messages per organization, day and status; counts only.",
    "messaging.DispatchWake": "Whether a dispatcher run is waiting to start; a task name and a time only.",
    "messaging.SenderName": f"Sender names an organization registered and staff's decision. {ORG_SENDER_ID}",
    "messaging.WebhookEndpoint": "An organization's webhook URL and secret; a system address, not a person.",
    **contacts_personal_data.EXCLUDED,
}
