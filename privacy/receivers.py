"""Privacy's answers to the hooks of the layers below it (`portal.hooks`), registered in `PrivacyConfig.ready`."""

from portal import hooks  # noqa: F401  (answers register on these hooks)


def register() -> None:
    """Connect every answer; called once from `PrivacyConfig.ready` (idempotent)."""
