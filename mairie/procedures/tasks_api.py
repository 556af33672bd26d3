"""Celery tasks of the procedures' webhooks; each one calls `webhooks.py` and nothing else."""

from celery import shared_task

from . import webhooks


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: str) -> str | None:
    """POST one webhook delivery (queued after the commit of the dossier event, or as a retry
    with its back-off countdown). A delivery not due or already taken is left alone."""
    return webhooks.deliver(delivery_id)


@shared_task(ignore_result=True)
def deliver_due_webhooks() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): send the deliveries that are due and were not
    sent — retries in eager mode, messages lost by the broker, attempts of a dead worker."""
    return webhooks.deliver_due()
