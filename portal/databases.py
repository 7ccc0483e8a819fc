"""Databases that the settings name, made ready on a first run."""

from __future__ import annotations

import psycopg
from django.db import connections
from psycopg import sql

# Connection parameters that only Django's own connections use.
_DJANGO_ONLY_PARAMETERS = ("cursor_factory", "context")


def postgresql_connect_params(*, alias: str, dbname: str | None = None) -> dict:
    """`psycopg.connect` arguments for the server of the connection `alias`, with its credentials, to its own
    database or to `dbname` on the same server."""
    params = {
        key: value
        for key, value in connections[alias].get_connection_params().items()
        if key not in _DJANGO_ONLY_PARAMETERS
    }
    if dbname is not None:
        params["dbname"] = dbname
    return params


def postgresql_database_create_missing(*, alias: str) -> bool:
    """Create the PostgreSQL database that the connection `alias` names when its server does not have it yet,
    with the same credentials; True when it was created. A first `make run` on PostgreSQL needs this for the
    erasure ledger's database, which the settings name beside the main one. A SQLite file appears on its first
    connection, so there is nothing to do there."""
    if connections[alias].vendor != "postgresql":
        return False
    name = postgresql_connect_params(alias=alias)["dbname"]
    # Every server has `postgres`; a database cannot be created from inside itself.
    with psycopg.connect(**postgresql_connect_params(alias=alias, dbname="postgres"), autocommit=True) as server:
        if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        try:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # another first run created it in between
    return True
