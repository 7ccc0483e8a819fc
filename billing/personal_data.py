"""Personal data held by billing (ledger entries, payments, receipts).

Read by `privacy.data.registry`; see there for the vocabulary. Billing rows are kept for PRIVACY_BILLING_RETENTION_YEARS
(tax law); what names a person on them is removed.
"""

from portal.personal_data import SET_EMPTY, By, Category, ErasureArea, Finder, PersonalData, keep

ACCOUNT = Category.ACCOUNT_INFORMATION

BILLING_GROUND = (
    "Tax records: the National Internal Revenue Code (sec. 235) and BIR rules require books and receipts to "
    "be kept "
    "for 10 years (PRIVACY_BILLING_RETENTION_YEARS); Data Privacy Act sec. 12(c) (legal obligation)."
)

PERSONAL_DATA = [
    PersonalData(
        model="billing.LedgerEntry",
        area=ErasureArea.BILLING,
        description="Credit changes you made (top-ups recorded, adjustments).",
        fields={
            "kind": ACCOUNT,
            "amount": ACCOUNT,
            "reason": ACCOUNT,
            "created_at": ACCOUNT,
            "organization__name": ACCOUNT,
        },
        finders=(Finder(By.USER, "actor", {"actor": SET_EMPTY}, label="credit changes you made"),),
        kept={"amount": BILLING_GROUND, "balance_after": BILLING_GROUND},
    ),
    PersonalData(
        model="billing.Payment",
        area=ErasureArea.BILLING,
        description="Payments of the organizations you belong to.",
        fields={
            "organization__name": ACCOUNT,
            "method": ACCOUNT,
            "status": ACCOUNT,
            "amount_php": ACCOUNT,
            "credits": ACCOUNT,
            "reference": ACCOUNT,
            "created_at": ACCOUNT,
            "confirmed_at": ACCOUNT,
        },
        finders=(
            Finder(
                By.USER,
                "organization__memberships__user",
                {"reference": keep(BILLING_GROUND)},
                label="payments of your organizations",
            ),
            Finder(By.USER, "recorded_by", {"recorded_by": SET_EMPTY}, export=()),
        ),
    ),
    PersonalData(
        model="billing.Receipt",
        area=ErasureArea.BILLING,
        description="Receipts issued to the organizations you belong to.",
        fields={
            "organization__name": ACCOUNT,
            "number": ACCOUNT,
            "billed_to": ACCOUNT,
            "buyer_tin": ACCOUNT,
            "buyer_address": ACCOUNT,
            "amount_php": ACCOUNT,
            "credits": ACCOUNT,
            "issued_at": ACCOUNT,
        },
        finders=(
            Finder(
                By.USER,
                "organization__memberships__user",
                {"billed_to": keep(BILLING_GROUND)},
                label="receipts of your organizations",
            ),
        ),
        kept={
            "billed_to": BILLING_GROUND,
            "buyer_tin": BILLING_GROUND,
            "buyer_address": BILLING_GROUND,
            "seller_name": "The seller (this site's operator) as registered with the BIR; not a customer.",
            "seller_address": "The seller (this site's operator) as registered with the BIR; not a customer.",
        },
    ),
]

EXCLUDED = {
    "billing.PricePlan": "Price list names; nothing about a person.",
    "billing.CreditAccount": (
        "An organization's balance, monthly limit and the business name, TIN and address its receipts are made out "
        "to; nothing about a member."
    ),
    "billing.CreditPack": "Price list of credit packs; nothing about a person.",
    "billing.PaymentProviderEvent": "Ids and types of payment-provider webhook events; no payload is kept.",
    "billing.ReceiptCounter": "The last receipt number of each year; nothing about a person.",
}
