"""Benchmark of the deadline automation at scale (issue 4, Performance, third bullet: the
automation side of "apply a rule to 100,000 dossiers").

N dossiers (default 100,000) of the million of `bench/procedures_inbox.py` are put in « En
instruction » with a deadline just passed, on procedures whose automation says « silence vaut
accord » there; then the hourly pass (`automation.run_deadlines`, what the beat task runs)
hands them, a chunk per task, to a real Celery worker (`celery -A mairie worker`: `python -m
mairie worker` without its beat; two processes, Redis broker), which decides them. Prints the
time from the pass's start to the last decision, dossiers per second, and checks each was
accepted once with its timeline, its audit entry and its applicant's notification (whose
e-mails are queued for the worker). Afterwards the dossiers are put back in instruction, so the
run can be repeated; the bench's other dossiers lose their deadline (the pass would otherwise
escalate them all), which the other benchmarks do not use.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mairie_bench \\
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/procedures_deadlines.py
"""

import argparse
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mairie_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"


def log(message: str) -> None:
    print(message, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.update({"CELERY_TASK_ALWAYS_EAGER": "0", "EMAIL_URL": "dummymail://",
                       "DEBUG": "0",
                       "CELERY_TASK_DEFAULT_QUEUE": f"bench-{uuid.uuid4().hex[:8]}"})
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import procedures_inbox  # django.setup(), the organisation, the million dossiers
    from django.utils import timezone

    from mairie.core.audit.models import AuditChainHead, AuditEvent
    from mairie.core.notifications.models import Notification
    from mairie.procedures import automation
    from mairie.procedures.models import AutomationNotice, Dossier, DossierEvent
    from mairie.procedures.models_automation import AutomationSettings

    organisation, _agent, _agents, _residents, procedures = procedures_inbox.million_dossiers()
    chosen = procedures_inbox.procedures_in_state(procedures, "instruction")
    ids: list = []
    for procedure in chosen:
        ids += list(Dossier.objects.filter(organisation=organisation, state="instruction",
                                           version__definition=procedure,
                                           decided_at__isnull=True)
                    .order_by("-submitted_at")
                    .values_list("pk", flat=True)[:args.dossiers - len(ids)])
        AutomationSettings.objects.update_or_create(definition=procedure, defaults={
            "organisation": organisation, "reminder_days": [],
            "silence_rules": [{"state": "instruction", "kind": "accord",
                               "decision": "accepte"}]})
    if len(ids) < args.dossiers:
        sys.exit(f"Only {len(ids)} dossiers « En instruction »: run procedures_inbox.py first.")
    now = timezone.now()
    # Nothing else due: only these dossiers have a deadline, just passed.
    Dossier.objects.filter(organisation=organisation, deadline_at__isnull=False).exclude(
        pk__in=ids).update(deadline_at=None)
    Dossier.objects.filter(pk__in=ids).update(deadline_at=now - timedelta(minutes=5))
    before = AuditEvent.objects.filter(organisation=organisation).count()
    head = AuditChainHead.objects.get(organisation=organisation).last_seq
    with procedures_inbox.celery_worker():
        started = time.perf_counter()
        counts = automation.run_deadlines(now=now)
        handed = time.perf_counter() - started
        # Each decision appends one audit entry: the chain's head (one row) says how many
        # are done, without a query over the 100,000 ids competing with the workers.
        while True:
            written = AuditChainHead.objects.get(organisation=organisation).last_seq - head
            if written >= len(ids) or time.perf_counter() - started > 3600:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    accepted = Dossier.objects.filter(pk__in=ids, state="accepte").count()
    events = DossierEvent.objects.filter(dossier_id__in=ids, kind="state_entered",
                                         created_at__gte=now).count()
    audits = AuditEvent.objects.filter(organisation=organisation).count() - before
    notified = Notification.objects.filter(organisation=organisation,
                                           created_at__gte=now).count()
    log(f"\nSilence vaut accord on {len(ids)} overdue dossiers: one pass of run_deadlines, "
        f"chunks decided by one worker (PostgreSQL, Redis broker; {os.cpu_count()} cores)")
    log(f"{elapsed:.1f} s: {len(ids) / elapsed:.0f} dossiers/s, "
        f"{elapsed / len(ids) * 1000:.2f} ms per dossier; counts {counts}")
    log(f"the pass itself (finding the overdue dossiers, handing the chunks over): "
        f"{handed:.1f} s")
    log(f"accepted {accepted}; timeline events {events}; audit entries {audits}; "
        f"notifications {notified}")
    # Put them back as they were.
    AutomationNotice.objects.filter(dossier_id__in=ids).delete()
    Dossier.objects.filter(pk__in=ids).update(state="instruction", decided_at=None,
                                              deadline_at=None)
    # What autovacuum would do in a while: the next benchmarks plan on fresh statistics.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE procedures_dossier")


if __name__ == "__main__":
    main()
