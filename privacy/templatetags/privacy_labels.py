"""Readable words for the codes a privacy request's history records ("export_started" -> "Your data export
started"): people never see an internal code."""

from django import template

register = template.Library()

EVENT_LABELS = {
    "submitted": "Request received",
    "verified": "Identity confirmed",
    "verification_failed": "Confirmation failed",
    "recorded_by_staff": "Recorded by our privacy team",
    "assigned": "Assigned to our privacy team",
    "started": "Work started",
    "asked_for_identity": "We asked for proof of identity",
    "asked_requester": "We asked you a question",
    "requester_replied": "You replied",
    "resumed": "Work resumed",
    "clock_restarted": "Deadline restarted",
    "extended": "Deadline extended",
    "export_started": "Your data export started",
    "erasure_started": "Erasure started",
    "erasure_marked": "Marked for erasure",
    "objections_applied": "Your objections were applied",
    "updates_applied": "Your corrections were applied",
    "phone_proven": "Phone number confirmed",
    "evidence_added": "Evidence added",
    "message_sent": "We wrote to you",
    "completed": "Completed",
    "completion_not_sent": "Completed (the notice could not be sent)",
    "rejected": "Declined",
    "withdrawn": "Withdrawn",
    "flagged_duplicate": "Marked as a duplicate of an earlier request",
    "closed_with_original": "Closed with the earlier request",
    "step_retrying": "A step is being retried",
    "step_stuck": "A step needs our attention",
}


@register.filter
def event_label(code: str) -> str:
    """The readable label of a history code; an unknown code reads as words ("some_code" -> "Some code")."""
    if code in EVENT_LABELS:
        return EVENT_LABELS[code]
    words = code.removeprefix("action_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]
