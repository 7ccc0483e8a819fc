"""Privacy's answers to the hooks of the layers below it (`portal.hooks`), registered in `PrivacyConfig.ready`."""

from portal import hooks


def register() -> None:
    """Connect every answer; called once from `PrivacyConfig.ready` (idempotent)."""
    del hooks  # answers are added here as privacy takes them over
