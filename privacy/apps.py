from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self):
        # System checks that every model holding personal data is registered for export, erasure and retention.
        from privacy import checks  # noqa: F401
