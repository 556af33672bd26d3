"""The two full-text engines behind one interface, chosen by the database in use.

- PostgreSQL: a `search_vector tsvector` column (title weighted A, body B) built with the
  `'french'` configuration (French stemming: "démarches" finds "démarche"), a GIN index, and
  `to_tsquery` with prefix matching, ranked by `ts_rank_cd`.
- SQLite: an FTS5 table `search_fts(title, body)` with `tokenize = "unicode61 remove_diacritics
  2"`, keyed by the document's id, ranked by `bm25` (title ten times heavier). FTS5 has no French
  stemmer; terms are matched as prefixes with the plural mark dropped, which covers the
  commonest case ("démarches" finds "démarche").

Both receive accent-folded text (`text.fold`), so accents never matter. Permission filtering is
part of the same SQL statement: a document is returned only if one of its access keys is among
the user's keys, and only within the organisation asked for.
"""

from __future__ import annotations

from django.db import connection

from .models import SearchDocument, SearchDocumentAccess
from .text import fold, strip_plural

FTS_TABLE = "search_fts"
# What is indexed and fetched of very long bodies (full-text documents): the start is enough
# to find and to show a snippet, and PostgreSQL limits a tsvector to 1 MB.
MAX_INDEXED_CHARS = 200_000
MAX_FETCHED_CHARS = 20_000


def _tables() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(SearchDocument._meta.db_table), quote(SearchDocumentAccess._meta.db_table)


def _organisation_param(organisation_id):
    field = SearchDocument._meta.get_field("organisation").target_field
    return field.get_db_prep_value(organisation_id, connection)


class SQLiteBackend:
    vendor = "sqlite"

    def sync(self, document_id: int, title: str, body: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [document_id])
            cursor.execute(f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (%s, %s, %s)",
                           [document_id, fold(title), fold(body[:MAX_INDEXED_CHARS])])

    def forget(self, document_ids: list[int]) -> None:
        if not document_ids:
            return
        marks = ", ".join(["%s"] * len(document_ids))
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", document_ids)

    def prune(self) -> int:
        """Drop full-text rows whose document is gone. The delete trigger normally does it,
        but Django rebuilds SQLite tables on some schema changes, which drops triggers."""
        documents, _ = _tables()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid NOT IN "
                           f"(SELECT id FROM {documents})")
            return cursor.rowcount

    def search(self, *, organisation_id, keys: list[str], terms: list[str], limit: int,
               offset: int):
        documents, access = _tables()
        match = " ".join(f'"{strip_plural(term)}"*' for term in terms)
        marks = ", ".join(["%s"] * len(keys))
        sql = (
            f"SELECT d.id, d.organisation_id, d.object_type, d.object_id, d.title, d.url, "
            f"d.updated_at, substr(d.body, 1, {MAX_FETCHED_CHARS}) AS body, "
            f"bm25({FTS_TABLE}, 10.0, 1.0) AS rank "
            f"FROM {FTS_TABLE} JOIN {documents} d ON d.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND d.organisation_id = %s "
            f"AND EXISTS (SELECT 1 FROM {access} a WHERE a.document_id = d.id "
            f"AND a.key IN ({marks})) "
            f"ORDER BY rank, d.updated_at DESC, d.id LIMIT %s OFFSET %s"
        )
        params = [match, _organisation_param(organisation_id), *keys, limit, offset]
        return SearchDocument.objects.raw(sql, params)


class PostgreSQLBackend:
    vendor = "postgresql"

    def sync(self, document_id: int, title: str, body: str) -> None:
        documents, _ = _tables()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {documents} SET search_vector = "
                "setweight(to_tsvector('french', %s), 'A') || "
                "setweight(to_tsvector('french', %s), 'B') WHERE id = %s",
                [fold(title), fold(body[:MAX_INDEXED_CHARS]), document_id])

    def forget(self, document_ids: list[int]) -> None:
        """Nothing to do: the vector lives in the document's row."""

    def prune(self) -> int:
        return 0

    def search(self, *, organisation_id, keys: list[str], terms: list[str], limit: int,
               offset: int):
        documents, access = _tables()
        query = " & ".join(f"{term}:*" for term in terms)
        marks = ", ".join(["%s"] * len(keys))
        sql = (
            f"SELECT d.id, d.organisation_id, d.object_type, d.object_id, d.title, d.url, "
            f"d.updated_at, left(d.body, {MAX_FETCHED_CHARS}) AS body, "
            f"ts_rank_cd(d.search_vector, q.query) AS rank "
            f"FROM {documents} d, to_tsquery('french', %s) AS q(query) "
            f"WHERE d.organisation_id = %s AND d.search_vector @@ q.query "
            f"AND EXISTS (SELECT 1 FROM {access} a WHERE a.document_id = d.id "
            f"AND a.key IN ({marks})) "
            f"ORDER BY rank DESC, d.updated_at DESC, d.id LIMIT %s OFFSET %s"
        )
        params = [query, _organisation_param(organisation_id), *keys, limit, offset]
        return SearchDocument.objects.raw(sql, params)


_BACKENDS: dict[str, SQLiteBackend | PostgreSQLBackend] = {
    "sqlite": SQLiteBackend(), "postgresql": PostgreSQLBackend()}


def current_backend() -> SQLiteBackend | PostgreSQLBackend:
    try:
        return _BACKENDS[connection.vendor]
    except KeyError:
        raise NotImplementedError(
            f"Search supports PostgreSQL and SQLite, not {connection.vendor}.") from None
