from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # App modules import models: only importable once apps are ready. `checks` registers the deploy check that
        # online payments do not go to the PayMongo simulator; `receivers` answers the lower layers' hooks.
        from billing import checks, receivers  # noqa: F401

        receivers.register()
        # What staff see of this app in admin (portal.staff_attention): admin cannot import the apps above it.
        from billing.staff_attention import billing_attention, billing_organization_facts
        from portal.staff_attention import organization_facts, register_panel

        register_panel(billing_attention)
        organization_facts.register(billing_organization_facts)
