"""Messaging's answers to the hooks of the layers below it (`portal.hooks`), registered in `MessagingConfig.ready`."""

from portal import hooks


def register() -> None:
    """Connect every answer; called once from `MessagingConfig.ready` (idempotent)."""
    del hooks  # answers are added here as messaging takes them over
