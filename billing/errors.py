"""Billing errors. Each message says the numbers a customer needs to act on it."""

from portal.errors import ApplicationError


class InsufficientCredits(ApplicationError):
    """The balance does not pay for the request; nothing was charged."""

    code = "insufficient_credits"
    status = 402


class MonthlyLimitReached(ApplicationError):
    """The organization's monthly segment limit would be passed; nothing was charged."""

    code = "monthly_limit_reached"
    status = 403


class PaymentStateError(ApplicationError):
    """A payment cannot move to the requested state (e.g. confirming a failed payment)."""

    code = "payment_state"
    status = 409
