"""Celery tasks of the citizen records; each calls a service and nothing else."""

from celery import shared_task

from . import services_mandates


@shared_task(ignore_result=True)
def remind_expiring_mandates() -> int:
    """Beat, every 6 hours: the mediators' reminders of mandates ending within a week."""
    return services_mandates.remind_expiring()
