"""Celery task of the retention job (`retention.py`); the daily beat entry is in settings."""

from celery import shared_task

from . import retention


@shared_task(ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Daily (CELERY_BEAT_SCHEDULE "procedures-retention"): identity documents of decided
    dossiers, then the dossiers past their procedure's retention period, every organisation.
    Safe to run twice: what was done is never done again."""
    return retention.summary(retention.apply_retention())
