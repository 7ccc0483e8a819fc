"""Writes for price plans (staff, in admin): which plan is the default."""

from django.db import transaction

from accounts.models import User
from accounts.services import audit_log_record
from billing.models import PricePlan
from billing.plan_cache import default_plan_forget


@transaction.atomic
def price_plan_make_default(*, plan: PricePlan, actor: User | None) -> PricePlan:
    # Clear the old default first: the partial unique index allows only one at any moment.
    PricePlan.objects.filter(is_default=True).exclude(id=plan.id).update(is_default=False)
    PricePlan.objects.filter(id=plan.id).update(is_default=True)
    plan.is_default = True
    # update() sends no signal: the cached default is dropped here (other processes see it within seconds).
    transaction.on_commit(default_plan_forget)
    default_plan_forget()
    audit_log_record(event_type="billing.price_plan_default", actor=actor, target=plan, extra={"name": plan.name})
    return plan
