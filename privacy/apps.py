from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        # App modules import models: only importable once apps are ready. `checks` registers the system check
        # that every model holding personal data is declared; `receivers` answers the lower layers' hooks.
        from privacy import checks, receivers  # noqa: F401

        receivers.register()
        # What staff see of this app in admin (portal.staff_attention): admin cannot import the apps above it.
        from portal.staff_attention import register_panel
        from privacy.staff_attention import privacy_attention

        register_panel(privacy_attention)
