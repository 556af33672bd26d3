"""Celery tasks of the booking app; each calls a service and nothing else."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def remind_overdue_loans() -> int:
    """Beat, every 6 hours: remind borrowers of equipment not back by its date (once a day)."""
    return services.remind_overdue_loans()
