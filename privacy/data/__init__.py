"""The data side of privacy: what the apps hold about a person, and exporting, erasing and keeping it.

- `registry`: every app's `personal_data` declarations, read once; `privacy.checks` keeps them complete.
- `subjects`: the person a step is about, and how each declared finder reaches their rows.
- `export` / `export_archive`: access requests: the encrypted ZIP, built in the background, downloaded by link.
- `erasure` / `erasure_run` / `erasure_areas` / `erasure_rules`: marking, running area by area, and applying
  each declared column rule.
- `legal_holds`: the data a hold keeps (an organization's records, an area, a person's address or number).
- `ledger`, `replay`: the erasure ledger in its own database, and re-applying erasures after a backup restore.
- `retention`, `retention_coverage`, `dormancy`: the daily purge of each category past its rule, which rule covers
  each registry table, and dormant accounts (a notice, then anonymisation).
- `objections`, `usage_analytics`: suppressions ("do not send to me") and per-person processing switches.
- `reporting`: how an export or an erasure tells the request it fulfils how it stands.
"""
