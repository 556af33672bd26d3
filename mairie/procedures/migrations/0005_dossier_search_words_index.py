"""A full-text index of the words of `Dossier.search_text` (PostgreSQL only, decision 0451).

The inbox's search used to be a `LIKE '%word%'` on that column, which reads every row of the
organisation (1.6 s at a million dossiers). This GIN index holds its words (hyphens and "@"
read as spaces, so that a dossier number is found without its year and an address by its
domain); `queries.search_text_matches` asks it with the same expression. SQLite keeps the
substring search, which is fine at the size of a commune served by the embedded default.
"""

from django.db import migrations

INDEX = "dossier_search_words"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON procedures_dossier USING gin "
        "(to_tsvector('simple'::regconfig, translate(search_text, '-@', '  ')))")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("procedures", "0004_dossier_inbox_order_index"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
