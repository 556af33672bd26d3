"""Celery tasks of procedure automation (issue 4); each one calls a service and nothing else."""

from celery import shared_task

from . import automation


@shared_task(ignore_result=True)
def run_deadlines() -> dict[str, int]:
    """Hourly (CELERY_BEAT_SCHEDULE): reminders, escalation, silence vaut accord / refus and
    "deadline_passed" rules. Safe to run twice or on two workers: see automation.run_deadlines."""
    return automation.run_deadlines()
