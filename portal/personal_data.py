"""The vocabulary each app uses to declare the personal data it holds, in `<app>/personal_data.py`.

Each app's module has two attributes, read by the privacy app (which discovers them; nothing registers itself):

    PERSONAL_DATA = [PersonalData(model="messaging.Message", area=ErasureArea.MESSAGES, fields={...}, finders=(...))]
    EXCLUDED = {"messaging.Provider": "provider configuration; names a company, not a person"}

How a subject's rows are found: a `Finder` per way in (by user, by e-mail, by phone number). What happens to those
rows on erasure is attached to the finder, because it depends on *why* the row is the person's: a message sent *to*
a number loses its body and number, a message sent *by* a user only loses the link to the user.

The vocabulary lives in `portal` so that declaring data never makes an app import the privacy app above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models


class ErasureArea(models.TextChoices):
    ACCOUNTS = (
        "accounts",
        "Account, sign-in and organizations",
    )  # user row, e-mail addresses, MFA, sessions, orgs
    MESSAGES = "messages", "Messages"  # message bodies and recipient numbers, OTP challenges, webhook logs
    BILLING = "billing", "Billing"  # kept for the legal retention period; stripped of what is not needed
    LOGS = "logs", "Logs"  # login records, API request logs, audit and admin logs
    EXPORTS = "exports", "Exports"  # access-request archives and their download log
    PRIVACY = "privacy", "Privacy records"  # requests' contact details, objections


class Category(models.TextChoices):
    """The categories of the privacy policy, section 2; one export file each."""

    PERSONAL_INFORMATION = (
        "personal_information",
        "Personal information",
    )  # name, e-mail address, phone number
    USAGE_DATA = "usage_data", "Usage data"  # API usage, message logs, timestamps
    ACCOUNT_INFORMATION = (
        "account_information",
        "Account information",
    )  # memberships, preferences, billing details
    TECHNICAL_DATA = "technical_data", "Technical data"  # IP addresses, devices, browsers


CATEGORY_DESCRIPTIONS = {
    Category.PERSONAL_INFORMATION: "Your name, e-mail address and phone number as we hold them.",
    Category.USAGE_DATA: "Your use of the service: API requests, messages sent to or by you, and when.",
    Category.ACCOUNT_INFORMATION: (
        "Your organizations and roles, preferences and objections, and billing records that name you. "
        "Password hashes and API key hashes are never included."
    ),
    Category.TECHNICAL_DATA: "IP addresses, devices and browsers seen when you signed in or used the API.",
}


class Strategy(models.TextChoices):
    DELETE_ROW = "delete_row", "Delete the row"  # nothing of the row is needed any more
    NULL = "null", "Set to empty"  # NULL for nullable columns, "" for text, {} / [] for JSON
    CONSTANT = "constant", "Replace with a constant"  # "{pk}" in the constant keeps unique columns unique
    HASH = "hash", "Replace with a keyed hash"  # counts and joins survive; the value cannot be recovered
    SCRUB = "scrub", "Remove the identifier from free text/JSON"  # e.g. an audit entry that names the e-mail
    KEEP = "keep", "Keep (legal ground)"  # kept on purpose, e.g. tax records; the ground is recorded


class By(models.TextChoices):
    USER = "user", "User account"  # a foreign key (path) to the user
    EMAIL = "email", "E-mail address"  # a column holding the e-mail address
    PHONE = "phone", "Phone number"  # a column holding the E.164 phone number
    PHONE_HASH = "phone_hash", "Hashed phone number"  # a column holding keyed_hash(phone, PHONE_HASH_PURPOSE)
    # A text column listing numbers' lookup hashes (portal.crypto.phone_lookup_hash) as " h1 h2 ".
    PHONE_LOOKUP_HASH_LIST = "phone_lookup_hash_list", "Hashed phone numbers in a list"
    EMAIL_HASH = (
        "email_hash",
        "Hashed e-mail address",
    )  # a column holding keyed_hash(email, EMAIL_HASH_PURPOSE)


@dataclass(frozen=True)
class Erase:
    strategy: Strategy
    value: Any = None
    legal_ground: str = ""


DELETE_ROW = Erase(Strategy.DELETE_ROW)
SET_EMPTY = Erase(Strategy.NULL)
HASH = Erase(Strategy.HASH)
SCRUB = Erase(Strategy.SCRUB)


def constant(value: Any) -> Erase:
    return Erase(Strategy.CONSTANT, value=value)


def keep(legal_ground: str) -> Erase:
    if not legal_ground.strip():
        raise ValueError("Keeping personal data needs a legal ground.")
    return Erase(Strategy.KEEP, legal_ground=legal_ground)


@dataclass(frozen=True)
class Finder:
    """One way to find a subject's rows, and what erasure does to the rows found that way.

    `erase` is DELETE_ROW or a mapping {field name: Erase}. `lookup` defaults to exact for users, iexact for
    e-mail and `in` (the E.164 form and the raw form) for phone numbers; `icontains` finds an identifier inside
    free text or JSON (use with SCRUB).
    """

    by: By
    path: str
    erase: Erase | dict[str, Erase]
    lookup: str = ""
    # Entry fields exported for rows found this way: None = all of them, () = none (e.g. invitations the person
    # sent hold *other* people's addresses, so they are erased from but not exported).
    export: tuple[str, ...] | None = None
    label: str = ""  # README wording, e.g. "messages sent to your number"

    def erase_fields(self) -> dict[str, Erase]:
        return {} if isinstance(self.erase, Erase) else dict(self.erase)


@dataclass(frozen=True)
class PersonalData:
    """One model's personal data.

    `fields` maps exported columns (ORM paths like "organization__name" allowed) to a category; password and
    key hashes are never listed. `correctable` names the fields an update request may change.
    """

    model: str
    area: ErasureArea
    description: str
    fields: dict[str, Category]
    finders: tuple[Finder, ...]
    correctable: tuple[str, ...] = ()
    kept: dict[str, str] = field(default_factory=dict)  # field -> legal ground, for fields kept after erasure

    @property
    def model_class(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model)
        except LookupError:
            return None
