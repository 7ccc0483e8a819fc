"""PostgreSQL's prepared statements are on by default and can be turned off for a pooler in transaction mode."""

import pytest
from django.db import connection

from portal.settings.base import postgresql_prepared_statements

POSTGRESQL = {"ENGINE": "django.db.backends.postgresql", "NAME": "portal"}


def test_postgresql_binds_on_the_server_and_prepares_by_default(monkeypatch):
    monkeypatch.delenv("DB_PREPARED_STATEMENTS", raising=False)
    monkeypatch.delenv("DB_PREPARE_THRESHOLD", raising=False)
    database = dict(POSTGRESQL)
    postgresql_prepared_statements(database)
    assert database["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}


def test_a_pooler_in_transaction_mode_turns_them_off(monkeypatch):
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "false")
    database = dict(POSTGRESQL)
    postgresql_prepared_statements(database)
    assert "OPTIONS" not in database


def test_the_threshold_is_a_setting_and_other_options_stay(monkeypatch):
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "1")
    database = {**POSTGRESQL, "OPTIONS": {"sslmode": "require"}}
    postgresql_prepared_statements(database)
    assert database["OPTIONS"] == {"sslmode": "require", "server_side_binding": True, "prepare_threshold": 1}


def test_sqlite_is_left_alone(monkeypatch):
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}
    postgresql_prepared_statements(database)
    assert "OPTIONS" not in database


@pytest.mark.django_db
def test_the_test_database_runs_with_them_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server-side binding")
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone() == (42,)
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%::int + 1%"])
        assert cursor.fetchone()[0] == 1
