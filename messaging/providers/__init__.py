"""SMS provider adapters: the interface (`base`), the shared HTTP plumbing (`http`), one package per provider
(`iprog/`, `semaphore/`: the adapter, its delivery-callback parsing and recorded payloads in `testdata/`) and the
registry built from `settings.SMS_PROVIDER_ADAPTERS` (`registry`)."""
