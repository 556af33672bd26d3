"""Celery tasks of procedure automation (issue 4); each one calls a service and nothing else."""

from celery import shared_task

from . import automation


@shared_task(ignore_result=True)
def run_deadlines() -> dict[str, int]:
    """Hourly (CELERY_BEAT_SCHEDULE): reminders, escalation, silence vaut accord / refus and
    "deadline_passed" rules. Safe to run twice or on two workers: see automation.run_deadlines."""
    return automation.run_deadlines()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def decide_overdue_by_silence(dossier_ids: list[str], now: str) -> dict[str, int]:
    """One chunk of the hourly pass's overdue dossiers decided by silence, handed over so that
    the workers share thousands of them. Safe to deliver twice: each decision is claimed."""
    import datetime

    return automation.decide_chunk_by_silence(dossier_ids,
                                              now=datetime.datetime.fromisoformat(now))
