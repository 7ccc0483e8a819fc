"""Databases that the settings name, made ready on a first run."""

from __future__ import annotations

import psycopg
from django.db import connections
from psycopg import sql

# Connection parameters that only Django's own connections use.
_DJANGO_ONLY_PARAMETERS = ("cursor_factory", "context")


def postgresql_database_create_missing(*, alias: str) -> bool:
    """Create the PostgreSQL database that the connection `alias` names when its server does not have it yet,
    with the same credentials; True when it was created. A first `make run` on PostgreSQL needs this for the
    erasure ledger's database, which the settings name beside the main one. A SQLite file appears on its first
    connection, so there is nothing to do there."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    params = connection.get_connection_params()
    name = params["dbname"]
    for key in _DJANGO_ONLY_PARAMETERS:
        params.pop(key, None)
    params["dbname"] = "postgres"  # every server has it; a database cannot be created from inside itself
    with psycopg.connect(**params, autocommit=True) as server:
        if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        try:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # another first run created it in between
    return True
