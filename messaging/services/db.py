"""Row locks that work the same on PostgreSQL and SQLite."""

from django.db import connection


def lock_rows(manager_or_queryset):
    """SELECT ... FOR UPDATE of the queryset's own table only: joined rows (organization, provider) stay free, and
    PostgreSQL accepts it with nullable select_related joins. SQLite ignores FOR UPDATE (its writes
    serialize)."""
    queryset = manager_or_queryset.all()
    if connection.features.has_select_for_update_of:
        return queryset.select_for_update(of=("self",))
    return queryset.select_for_update()
