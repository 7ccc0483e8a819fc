from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from messaging import receivers  # app modules import models: only importable once apps are ready

        receivers.register()
        # What staff see of this app in admin (portal.staff_attention): admin cannot import the apps above it.
        from messaging.staff_attention import messaging_attention, messaging_organization_facts
        from portal.staff_attention import organization_facts, register_panel

        register_panel(messaging_attention)
        organization_facts.register(messaging_organization_facts)
