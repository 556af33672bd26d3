"""Celery tasks of the citizen records; each calls a service and nothing else."""

from celery import shared_task

from . import services_mandates


@shared_task(ignore_result=True)
def remind_expiring_mandates() -> int:
    """Beat, every 6 hours: the mediators' reminders of mandates ending within a week."""
    return services_mandates.remind_expiring()


@shared_task(ignore_result=True, acks_late=True)
def read_counter_scan(scan_id: str) -> None:
    """Read the text of a document scanned at the counter (Tesseract), once."""
    from . import services_scans

    services_scans.read_scan(scan_id=scan_id)
