from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import (
            receivers,  # noqa: F401  (records logins: allauth/auth signals)
            schema,  # noqa: F401  (documents Bearer API keys in the OpenAPI schema)
        )
