"""The demo organizations `manage.py seed_demo` creates. The other apps' demo seeders (`portal.hooks.demo_seeders`)
find them by these slugs."""

DEMO_ORGANIZATION_SLUG = "demo"
OTHER_ORGANIZATION_SLUG = "other"
