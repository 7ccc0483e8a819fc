"""Online payment providers: one package per provider, each a `base.PaymentProvider`, listed in
`settings.BILLING_PAYMENT_PROVIDERS` (see `registry`)."""
