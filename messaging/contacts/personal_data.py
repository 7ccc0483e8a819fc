"""Personal data in the address book and campaigns (messaging.contacts, messaging.campaigns), declared with the
vocabulary of `portal.personal_data` and listed in `messaging/personal_data.py`, which privacy reads.

Contacts and the organization's own opt-outs are found by the number (their encrypted column has a keyed-hash
column beside it, which is what the finder matches) and deleted when the person is erased: an organization's
address book keeps nothing of someone who asked to be forgotten. A campaign only names the user who composed it.
"""

from portal.personal_data import DELETE_ROW, SET_EMPTY, By, Category, ErasureArea, Finder, PersonalData

PERSONAL = Category.PERSONAL_INFORMATION
USAGE = Category.USAGE_DATA
HASH_GOES_WITH_ROW = "Not kept: the keyed hash of the number is deleted with its row, and never exported."
ORGANIZATION_TEXT = "The organization's own wording (a campaign or template text with merge fields), not a person."

PERSONAL_DATA = [
    PersonalData(
        model="messaging.Contact",
        area=ErasureArea.MESSAGES,
        description="Organizations' address books: your number, name and the details they imported about you.",
        fields={
            "organization__name": USAGE,
            "phone_number": PERSONAL,
            "name": PERSONAL,
            "custom_fields": PERSONAL,
            "created_at": USAGE,
        },
        finders=(Finder(By.PHONE, "phone_number", DELETE_ROW, label="contacts in organizations' address books"),),
        kept={"phone_hash": HASH_GOES_WITH_ROW},
    ),
    PersonalData(
        model="messaging.OptOut",
        area=ErasureArea.MESSAGES,
        description="Organizations' own lists of numbers not to send to.",
        fields={"organization__name": USAGE, "phone_number": PERSONAL, "reason": PERSONAL, "created_at": USAGE},
        finders=(
            Finder(By.PHONE, "phone_number", DELETE_ROW, label="organizations' lists of numbers not to send to"),
            Finder(By.USER, "created_by", {"created_by": SET_EMPTY}, export=()),
        ),
        kept={"phone_hash": HASH_GOES_WITH_ROW},
    ),
    PersonalData(
        model="messaging.Campaign",
        area=ErasureArea.MESSAGES,
        description="Campaigns (named bulk sends) you composed.",
        fields={"organization__name": USAGE, "name": USAGE, "created_at": USAGE},
        finders=(
            Finder(
                By.USER,
                "created_by",
                {"created_by": SET_EMPTY},
                export=("organization__name", "name", "created_at"),
                label="campaigns you composed (without their recipients)",
            ),
        ),
        kept={"body": ORGANIZATION_TEXT, "sender_name": "The organization's registered sender name, not a person."},
    ),
]

EXCLUDED = {
    "messaging.ContactGroup": "A named list of an organization's contacts; the people are in messaging.Contact.",
    "messaging.Tag": "A label an organization puts on its contacts; the people are in messaging.Contact.",
    "messaging.MessageTemplate": ORGANIZATION_TEXT,
}
