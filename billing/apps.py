from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import receivers  # app modules import models: only importable once apps are ready

        receivers.register()
        # What staff see of this app in admin (portal.staff_attention): admin cannot import the apps above it.
        from billing.staff_attention import billing_attention, billing_organization_facts
        from portal.staff_attention import organization_facts, register_panel

        register_panel(billing_attention)
        organization_facts.register(billing_organization_facts)
