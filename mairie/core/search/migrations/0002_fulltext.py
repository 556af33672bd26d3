"""The full-text part of the index, which depends on the database in use.

PostgreSQL: a `search_vector` tsvector column and its GIN index. SQLite: an FTS5 table keyed by
the document id, plus a trigger removing its row when a document row goes (cascades included).
Other databases get nothing (search raises NotImplementedError there). If a later migration
makes Django rebuild search_searchdocument on SQLite (it does for some field changes), the
trigger goes with the old table: recreate it in that migration (`search reindex` also prunes
orphan rows).
"""

from django.db import migrations

SQLITE_FORWARDS = [
    'CREATE VIRTUAL TABLE search_fts USING fts5('
    'title, body, tokenize = "unicode61 remove_diacritics 2")',
    "CREATE TRIGGER search_fts_after_delete AFTER DELETE ON search_searchdocument "
    "BEGIN DELETE FROM search_fts WHERE rowid = old.id; END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS search_fts_after_delete",
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRESQL_FORWARDS = [
    "ALTER TABLE search_searchdocument ADD COLUMN search_vector tsvector",
    "CREATE INDEX search_document_vector_gin ON search_searchdocument "
    "USING GIN (search_vector)",
]
POSTGRESQL_BACKWARDS = [
    "DROP INDEX IF EXISTS search_document_vector_gin",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}),
            _run({"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}),
        ),
    ]
