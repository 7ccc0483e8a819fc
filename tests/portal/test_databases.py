"""A first run creates the PostgreSQL database that the settings name beside the main one (the erasure ledger's)."""

import uuid

import psycopg
import pytest
from django.db import connections
from psycopg import sql

from portal.databases import postgresql_connect_params, postgresql_database_create_missing


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_nothing_to_create_on_sqlite_or_when_the_database_exists():
    # The test run has made its ledger database (on SQLite a file, which needs nothing made first anyway).
    assert postgresql_database_create_missing(alias="erasure_ledger") is False


@pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="creates a database on the PostgreSQL server")
def test_a_missing_database_is_created_once(monkeypatch):
    ledger = connections["erasure_ledger"]
    name = f"portal_first_run_{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(ledger.settings_dict, "NAME", name)
    try:
        assert postgresql_database_create_missing(alias="erasure_ledger") is True
        assert postgresql_database_create_missing(alias="erasure_ledger") is False
        with psycopg.connect(**postgresql_connect_params(alias="erasure_ledger")) as created:
            assert created.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        with psycopg.connect(
            **postgresql_connect_params(alias="erasure_ledger", dbname="postgres"), autocommit=True
        ) as server:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
