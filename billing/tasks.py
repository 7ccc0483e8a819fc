"""Background work for billing. Tasks take ids, load fresh rows and decide again: they may run late."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django_tasks import task

from billing.models import CreditAccount
from billing.selectors import billing_audit_differences, low_balance_recipients
from portal.queues import TaskQueue


@task(queue_name=TaskQueue.WEBHOOKS)
def low_balance_alert_send(*, organization_id: int) -> int:
    """E-mail the owners and admins that the balance fell below their threshold. Returns the number of recipients.

    The service sets `low_balance_alerted` in the transaction that crossed the threshold and enqueues this
    after commit, so one dip sends one e-mail; if a top-up lifted the balance before this ran, nothing is sent.
    """
    account = CreditAccount.objects.select_related("organization").filter(organization_id=organization_id).first()
    if account is None or account.low_balance_threshold is None or not account.low_balance_alerted:
        return 0
    if account.balance >= account.low_balance_threshold:
        return 0
    organization = account.organization
    recipients = low_balance_recipients(organization=organization)
    if not recipients:
        return 0
    billing_url = settings.SITE_URL + reverse("billing:overview")
    send_mail(
        subject=f"Low SMS credit balance for {organization.name}: {account.balance} credits",
        message=(
            f"The credit balance of {organization.name} is {account.balance} credits, "
            "below the alert threshold of "
            f"{account.low_balance_threshold} credits you set.\n\n"
            "Messages are refused once the balance cannot pay for them. Top up to keep sending:\n"
            f"{billing_url}\n\n"
            "You will not get another alert until the balance is back above the threshold.\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)


@task(queue_name=TaskQueue.MAINTENANCE)
def billing_audit_run() -> int:
    """Periodic: run the ledger audit and e-mail staff (OPS_ALERT_EMAILS) if any balance disagrees with its
    ledger. Read-only, so running it twice is harmless. Returns the number of differences."""
    differences = billing_audit_differences()
    if differences:
        send_mail(
            subject=f"Billing audit: {len(differences)} difference(s) between balances and the ledger",
            message="manage.py billing_audit found:\n\n" + "\n".join(differences) + "\n",
            from_email=None,
            recipient_list=list(settings.OPS_ALERT_EMAILS),
        )
    return len(differences)
