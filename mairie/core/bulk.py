"""Inserting many new rows at once (timeline events, audit entries, notifications of a pass
that decides thousands of dossiers).

`insert_all` is `bulk_create` without its SQL: on PostgreSQL the rows go through `COPY …
FROM STDIN`, which costs a fraction of a multi-row `INSERT` (no statement to compile nor to
quote value by value, no arrays to plan) — decision 0458. Elsewhere, and for a handful of
rows, it is `bulk_create`. As with `bulk_create`, no signal is sent and `save()` is not
called; auto-incremented keys are not read back (UUID keys are set beforehand, as always
here). Constraint violations raise `IntegrityError`, so a unique claim still refuses a
second writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connections, models, router

# Fewer rows than this: the plain `bulk_create` (a COPY is a round trip of its own).
COPY_FROM = 50

M = TypeVar("M", bound=models.Model)


def insert_all(objects: Sequence[M]) -> Sequence[M]:
    """Insert `objects` (new instances of one model); returns them, now saved."""
    if not objects:
        return objects
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql" or len(objects) < COPY_FROM:
        model._default_manager.bulk_create(objects, batch_size=1000)
        return objects
    fields = [field for field in model._meta.concrete_fields
              if not getattr(field, "db_returning", False)
              and not getattr(field, "generated", False)]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column or field.attname)
                        for field in fields)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([field.get_db_prep_save(field.pre_save(obj, True), connection)
                                for field in fields])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
    return objects
