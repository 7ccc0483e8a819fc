"""The address book and campaign fixtures (tests/messaging/address_book_fixtures.py)."""

from tests.messaging.address_book_fixtures import as_json, chain, funded, no_dispatch, private_storage  # noqa: F401
