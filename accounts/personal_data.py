"""Personal data held by accounts (users, memberships, keys, logs) and by the auth apps it uses.

Read by `privacy.data.registry`; see there for the vocabulary. Billing rows are declared in `billing/personal_data.py`.
"""

from portal.personal_data import (
    DELETE_ROW,
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
ACCOUNT = Category.ACCOUNT_INFORMATION
TECHNICAL = Category.TECHNICAL_DATA

PERSONAL_DATA = [
    PersonalData(
        model="accounts.User",
        area=ErasureArea.ACCOUNTS,
        description="Your account: name, e-mail address, phone number, when you joined and last signed in.",
        fields={
            "email": PERSONAL,
            "full_name": PERSONAL,
            "phone_number": PERSONAL,
            "date_joined": ACCOUNT,
            "is_active": ACCOUNT,
            "last_login": USAGE,
        },
        finders=(
            Finder(
                By.USER,
                "pk",
                {
                    # The row stays (audit entries and billing rows point at it) but says nothing about the person.
                    "email": constant("erased-{pk}@erased.invalid"),
                    "full_name": SET_EMPTY,
                    "phone_number": SET_EMPTY,
                    "password": constant("!erased"),
                    "is_active": constant(False),
                    "last_login": SET_EMPTY,
                },
                label="your account",
            ),
        ),
        correctable=("full_name", "phone_number"),
    ),
    PersonalData(
        model="account.EmailAddress",
        area=ErasureArea.ACCOUNTS,
        description="E-mail addresses attached to your sign-in, and whether each is verified.",
        fields={"email": PERSONAL, "verified": ACCOUNT, "primary": ACCOUNT},
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="addresses of your account"),
            Finder(By.EMAIL, "email", DELETE_ROW, label="your address"),
        ),
    ),
    PersonalData(
        model="account.EmailConfirmation",
        area=ErasureArea.ACCOUNTS,
        description="Pending e-mail confirmations.",
        fields={"created": ACCOUNT, "sent": ACCOUNT},
        finders=(Finder(By.USER, "email_address__user", DELETE_ROW, label="confirmations of your addresses"),),
    ),
    PersonalData(
        model="mfa.Authenticator",
        area=ErasureArea.ACCOUNTS,
        description="Two-factor methods you set up (the secrets themselves are never exported).",
        fields={"type": ACCOUNT, "created_at": ACCOUNT, "last_used_at": USAGE},
        finders=(Finder(By.USER, "user", DELETE_ROW, label="your two-factor methods"),),
    ),
    PersonalData(
        model="accounts.Membership",
        area=ErasureArea.ACCOUNTS,
        description="The organizations you belong to and your role in each.",
        fields={"organization__name": ACCOUNT, "role": ACCOUNT, "created_at": ACCOUNT},
        finders=(Finder(By.USER, "user", DELETE_ROW, label="your memberships"),),
    ),
    PersonalData(
        model="accounts.Invitation",
        area=ErasureArea.ACCOUNTS,
        description="Invitations sent to your e-mail address.",
        fields={
            "email": PERSONAL,
            "organization__name": ACCOUNT,
            "role": ACCOUNT,
            "status": ACCOUNT,
            "created_at": ACCOUNT,
        },
        finders=(
            Finder(By.EMAIL, "email", DELETE_ROW, label="invitations to you"),
            # Invitations the person sent name other people: erased from, never exported.
            Finder(By.USER, "invited_by", {"invited_by": SET_EMPTY}, export=()),
            Finder(By.USER, "accepted_by", {"accepted_by": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="accounts.APIKey",
        area=ErasureArea.ACCOUNTS,
        description="API keys you created (name, prefix and dates; the key and its hash are never exported).",
        fields={
            "name": ACCOUNT,
            "prefix": ACCOUNT,
            "organization__name": ACCOUNT,
            "created_at": ACCOUNT,
            "last_used_at": USAGE,
            "revoked_at": ACCOUNT,
        },
        # Keys belong to the organization; an organization the person solely owns is closed (keys revoked) first.
        finders=(Finder(By.USER, "created_by", {"created_by": SET_EMPTY}, label="keys you created"),),
    ),
    PersonalData(
        model="accounts.LoginRecord",
        area=ErasureArea.LOGS,
        description="Every sign-in attempt: time, outcome, IP address, browser, operating system and device.",
        fields={
            "email_attempted": PERSONAL,
            "succeeded": USAGE,
            "created_at": USAGE,
            "ip_address": TECHNICAL,
            "user_agent": TECHNICAL,
            "browser": TECHNICAL,
            "operating_system": TECHNICAL,
            "device": TECHNICAL,
        },
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="your sign-ins"),
            Finder(By.EMAIL, "email_attempted", DELETE_ROW, label="sign-in attempts with your address"),
        ),
    ),
    PersonalData(
        model="accounts.APIRequestLog",
        area=ErasureArea.LOGS,
        description="API requests made with your signed-in session.",
        fields={
            "method": USAGE,
            "path": USAGE,
            "route": USAGE,
            "status_code": USAGE,
            "duration_ms": USAGE,
            "created_at": USAGE,
            "organization__name": USAGE,
            "ip_address": TECHNICAL,
            "user_agent": TECHNICAL,
        },
        finders=(Finder(By.USER, "user", DELETE_ROW, label="your API requests"),),
    ),
    PersonalData(
        model="accounts.AuditLog",
        area=ErasureArea.LOGS,
        description="Actions you took in an organization (what and when).",
        fields={"event_type": USAGE, "organization__name": USAGE, "created_at": USAGE},
        finders=(
            Finder(By.USER, "actor", {"actor": SET_EMPTY}, label="actions you took"),
            # Entries written about the person by others (e.g. "invited x@y") carry the address in extra_data.
            Finder(By.EMAIL, "extra_data", {"extra_data": SCRUB}, lookup="icontains", export=()),
            Finder(By.PHONE, "extra_data", {"extra_data": SCRUB}, lookup="icontains", export=()),
        ),
    ),
    PersonalData(
        model="admin.LogEntry",
        area=ErasureArea.LOGS,
        description="Changes made in the staff admin (staff accounts only).",
        fields={"action_time": USAGE, "object_repr": USAGE, "change_message": USAGE},
        finders=(
            Finder(By.USER, "user", DELETE_ROW, label="your admin actions"),
            Finder(
                By.EMAIL,
                "object_repr",
                {"object_repr": SCRUB, "change_message": SCRUB},
                lookup="icontains",
                export=(),
            ),
        ),
    ),
]

EXCLUDED = {
    "accounts.Organization": (
        "A business customer, not a person; its name is exported with memberships and messages, and an "
        "organization the person solely owns is closed by the erasure (accounts.services.organization_close)."
    ),
    "accounts.APIUsageDaily": (
        "Daily call counts per organization, API key, route and status class: no person, address or user agent "
        "(sessions are counted without saying whose)."
    ),
    "auth.Group": "Permission group names; nothing about a person.",
    "auth.Permission": "Permission names; nothing about a person.",
}
