"""Celery tasks of the notifications subsystem; each one calls a service and nothing else."""

from celery import shared_task

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=60, retry_backoff_max=3600, max_retries=8,
             ignore_result=True)
def send_notification_email(notification_id: str) -> bool:
    """E-mail one notification whose recipient wants it immediately (queued by `notify`).

    SMTP errors are `OSError`s: the task retries with a growing delay, and the claim on the
    notification is released meanwhile, so the e-mail is neither lost nor sent twice.
    """
    return services.deliver_notification_email(notification_id=notification_id)


@shared_task(ignore_result=True)
def send_notification_emails(notification_ids: list[str]) -> int:
    """`send_notification_email` for many notifications (one task for hundreds: a pass that
    decides thousands of dossiers hands them over in a few messages). One that fails is
    handed to its own task, which retries it; the others go on."""
    sent = 0
    for notification_id in notification_ids:
        try:
            sent += services.deliver_notification_email(notification_id=notification_id)
        except OSError:
            send_notification_email.apply_async((notification_id,), countdown=60)
    return sent


@shared_task(ignore_result=True)
def push_notifications(notification_ids: list[str]) -> int:
    """The live push of notifications stored many at once (`notify_many`): best effort, as
    every push; the notifications themselves are already in the recipients' inboxes."""
    return services.push_stored(notification_ids)


@shared_task(ignore_result=True)
def send_daily_digests() -> int:
    """Hourly (CELERY_BEAT_SCHEDULE): each user's digest of "daily" notifications, once a day."""
    return services.send_daily_digests()
