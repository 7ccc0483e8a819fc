"""An index for the log's search on PostgreSQL: GIN over the message's stored word hashes split into an array
(`messaging.body_search.StoredTerms`, the same expression), so a search finds its messages from the index instead
of reading the organization's messages until enough match (all of them for a word no message has).

Built without blocking sends (`CONCURRENTLY`, outside a transaction); a build that failed part way leaves an
invalid index of that name, which is dropped and built again. Not on SQLite (no GIN there; the search reads the
text as before). Not declared on the model: Django's schema cannot say "PostgreSQL only"."""

from django.db import migrations

INDEX = "message_body_terms_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
            "WHERE pg_class.relname = %s AND NOT pg_index.indisvalid",
            [INDEX],
        )
        if cursor.fetchone():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        cursor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON messaging_message "
            "USING gin (string_to_array(btrim(body_terms), ' '))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0021_daily_count_network_channel_route_credits")]

    operations = [migrations.RunPython(create_index, drop_index)]
