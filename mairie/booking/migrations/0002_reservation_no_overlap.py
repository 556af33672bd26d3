"""No two active reservations of one resource overlap, refused by the database itself on both
engines (decision 0477):

- on PostgreSQL, an exclusion constraint over (resource =, tstzrange(start, end, '[)') &&)
  for the states that hold a slot; `btree_gist` lets a GiST index compare the resource's id
  with `=`. It is added by RunPython, not declared in the model's Meta, so that SQLite never
  tries to write it;
- on SQLite, which has no exclusion constraint, two triggers (before insert, before update)
  abort with the same name. SQLite drops a table's triggers when Django rebuilds the table:
  a later migration that alters `booking_reservation` must call `sqlite_triggers()` again —
  the tests that write an overlap past the service fail otherwise.

The service's check after locking the resource row (`services.reserve`) remains the first
guard, which gives the booker the clash in plain words."""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models

NAME = "booking_reservation_no_overlap"


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def constraint():
    return ExclusionConstraint(
        name=NAME,
        expressions=[
            ("resource", RangeOperators.EQUAL),
            (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
        ],
        condition=models.Q(state__in=["requested", "confirmed"]),
    )


ACTIVE = "('requested', 'confirmed')"


def sqlite_triggers() -> list[str]:
    """The statements that create SQLite's guard (idempotent)."""
    overlap = f"""
        WHEN NEW.state IN {ACTIVE} AND EXISTS (
            SELECT 1 FROM booking_reservation AS other
            WHERE other.resource_id = NEW.resource_id AND other.id <> NEW.id
              AND other.state IN {ACTIVE}
              AND other.start < NEW."end" AND NEW.start < other."end")
        BEGIN SELECT RAISE(ABORT, '{NAME}'); END"""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {NAME}_insert BEFORE INSERT ON booking_reservation"
        + overlap,
        f"CREATE TRIGGER IF NOT EXISTS {NAME}_update BEFORE UPDATE ON booking_reservation"
        + overlap,
    ]


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_constraint(apps.get_model("booking", "Reservation"), constraint())
    elif schema_editor.connection.vendor == "sqlite":
        for statement in sqlite_triggers():
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_constraint(apps.get_model("booking", "Reservation"), constraint())
    elif schema_editor.connection.vendor == "sqlite":
        for suffix in ("insert", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {NAME}_{suffix}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]
    operations = [
        BtreeGistExtension(),
        migrations.RunPython(add, remove, elidable=False),
    ]
