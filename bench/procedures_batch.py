"""Benchmark of batch work at scale (issue 4, Performance, third bullet).

An agent applies the transition "Instruire" (Déposé → En instruction) to N dossiers (default
100,000) of the million of `bench/procedures_inbox.py`, in one batch run by a real Celery
worker (`celery -A mairie worker`: `python -m mairie worker` without its beat; Redis broker) on
PostgreSQL; the batch's chunks are taken by `MAIRIE_BATCH_PARALLEL_TASKS` tasks at once
(`batches.process_transition_chunk`). Prints the wall time from the batch's creation to its
end, dossiers per second, and checks that every dossier moved once with its timeline event and
its two audit entries (the transition, the batch's action). Afterwards the dossiers are put
back in "Déposé" so that the run can be repeated.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mairie_bench \\
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/procedures_batch.py [--dossiers N]
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mairie_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"


def log(message: str) -> None:
    print(message, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.update({"CELERY_TASK_ALWAYS_EAGER": "0", "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
                       "EMAIL_URL": "dummymail://", "DEBUG": "0"})
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import procedures_inbox  # django.setup(), the organisation, the million dossiers
    from django.db import transaction

    from mairie.core.audit.models import AuditEvent
    from mairie.procedures import batches, queries
    from mairie.procedures.models import Batch, Dossier, DossierEvent

    organisation, agent, _agents, _residents, procedures = procedures_inbox.million_dossiers()
    ids: list = []
    for procedure in procedures_inbox.procedures_in_state(procedures, "depose"):
        ids += list(queries.dossiers_for_agent(agent, organisation, box="services",
                                               procedure=procedure, state="depose")
                    .values_list("pk", flat=True)[:args.dossiers - len(ids)])
    if len(ids) < args.dossiers:
        sys.exit(f"Only {len(ids)} dossiers in « Déposé »: run bench/procedures_inbox.py first.")

    with procedures_inbox.celery_worker():
        started = time.perf_counter()
        with transaction.atomic():
            batch = batches.create_batch(
                actor=agent, organisation=organisation, action=Batch.Action.TRANSITION,
                parameters={"transition": "instruire"},
                dossiers=Dossier.objects.filter(pk__in=ids).order_by("-submitted_at", "-pk"),
                summary="bench")
        created = time.perf_counter() - started
        while True:
            batch.refresh_from_db()
            if batch.status == Batch.Status.FINISHED:
                break
            if time.perf_counter() - started > args.timeout:
                sys.exit(f"Not finished after {args.timeout:.0f} s ({batch.done} done).")
            time.sleep(1)
        elapsed = time.perf_counter() - started

    moved = Dossier.objects.filter(pk__in=ids, state="instruction").count()
    events = DossierEvent.objects.filter(dossier_id__in=ids, kind="transition",
                                         created_at__gte=batch.created_at).count()
    audits = AuditEvent.objects.filter(organisation=organisation,
                                       created_at__gte=batch.created_at,
                                       action__in=["procedures.transition_applied",
                                                   "procedures.batch_action_applied"]).count()
    from django.conf import settings

    log(f"\nBatch « Instruire » on {len(ids)} dossiers (PostgreSQL, Redis broker, one worker "
        f"with {settings.MAIRIE_BATCH_PARALLEL_TASKS} tasks taking chunks at once; "
        f"{os.cpu_count()} cores)")
    log(f"Batch created (selection frozen) in {created:.1f} s; finished in {elapsed:.1f} s: "
        f"{batch.done / elapsed:.0f} dossiers/s, {elapsed / len(ids) * 1000:.2f} ms per dossier")
    log(f"done {batch.done}, failed {batch.failed}, skipped {batch.skipped}; dossiers moved "
        f"{moved}; timeline events {events}; audit entries {audits} (expected {2 * len(ids)})")
    # Put them back, so that the run can be repeated on the same dossiers.
    Dossier.objects.filter(pk__in=ids).update(state="depose", deadline_at=None)
    # What autovacuum would do in a while: the next benchmarks plan on fresh statistics.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE procedures_dossier")


if __name__ == "__main__":
    main()
