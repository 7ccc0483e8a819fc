"""`{{ deadline|due_day }}`: a deadline written as its last day in the operator's zone, as every e-mail writes it."""

from django import template

from privacy.sla import due_label

register = template.Library()


@register.filter
def due_day(deadline) -> str:
    return due_label(deadline) if deadline else "—"
