"""Billing in staff's admin (`portal.staff_attention`): the landing page's panel (failed payments, organizations
low on credits, each linking to the admin list of those rows) and an organization's balance, usage and payments."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Q
from django.utils import timezone

from accounts.models import OrganizationStatus
from billing.models import CreditAccount, Payment, PaymentStatus
from billing.selectors import usage_from_account
from portal.staff_attention import AttentionItem, AttentionPanel, OrganizationFact, admin_list_url, ids_lookup

FAILED_PAYMENTS_WINDOW = timedelta(days=30)
# An organization that set no low-balance threshold of its own is shown below this many credits.
LOW_CREDITS_WITHOUT_THRESHOLD = Decimal("100")


def billing_attention(*, now=None) -> AttentionPanel:
    now = now or timezone.now()
    since = now - FAILED_PAYMENTS_WINDOW
    # Staff see every organization's payments and balances: the landing page reads across tenants on purpose.
    failed = Payment.objects.unscoped().filter(status=PaymentStatus.FAILED, created_at__gte=since).count()
    low = list(
        CreditAccount.objects.unscoped()
        .filter(organization__status=OrganizationStatus.ACTIVE)
        .filter(
            Q(low_balance_threshold__isnull=False, balance__lt=F("low_balance_threshold"))
            | Q(low_balance_threshold__isnull=True, balance__lt=LOW_CREDITS_WITHOUT_THRESHOLD)
        )
        .values_list("pk", flat=True)
    )
    return AttentionPanel(
        title="Billing",
        items=[
            AttentionItem(
                label="failed payments in the last 30 days",
                count=failed,
                # The same moment as the count, with its offset: a bare date would be read as a naive midnight.
                url=admin_list_url(Payment, status__exact=PaymentStatus.FAILED, created_at__gte=since.isoformat()),
                level="danger",
            ),
            AttentionItem(
                label="organizations low on credits",
                count=len(low),
                url=admin_list_url(CreditAccount, pk__in=ids_lookup(low)),
                detail=f"below their own threshold, or {LOW_CREDITS_WITHOUT_THRESHOLD} credits when none is set",
            ),
        ],
    )


def billing_organization_facts(*, organization_id: int) -> list[OrganizationFact]:
    # Admin reads any organization's account by its id: staff work across tenants.
    account = CreditAccount.objects.unscoped().filter(organization_id=organization_id).first()
    used, limit = usage_from_account(account)
    payments = Payment.objects.unscoped().filter(organization_id=organization_id).count()
    return [
        OrganizationFact(
            label="Balance",
            value=f"{account.balance} credits" if account else "no credit account",
            url=admin_list_url(CreditAccount, organization__id__exact=organization_id),
        ),
        OrganizationFact(
            label="Usage this month",
            value=f"{used} segments" + (f" of {limit}" if limit else ""),
        ),
        OrganizationFact(
            label="Payments",
            value=str(payments),
            url=admin_list_url(Payment, organization__id__exact=organization_id),
        ),
    ]
