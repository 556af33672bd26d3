"""Background jobs on a REAL Celery worker process (`python -m mairie worker`).

The worker runs in a subprocess against this test's database, fed by a real broker: Redis when
REDIS_URL is set, otherwise kombu's filesystem transport (so the SQLite run exercises a real
worker too). The test process publishes exactly as the application does in production.
"""

import pytest

from mairie.core.notifications.models import (
    Frequency,
    Notification,
    NotificationDigest,
    NotificationPreference,
)
from mairie.core.notifications.services import notify
from mairie.core.notifications.tasks import send_daily_digests

from .conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_notify_hands_the_email_to_the_worker(celery_worker_process, organisation, agent):
    notification = notify(organisation=organisation, recipients=[agent],
                          kind="system.announcement", title="Conseil municipal du 12 mars",
                          body="Ordre du jour en ligne.")[0]

    # The worker claims the notification (emailed_at) just before it sends: wait for the mail.
    wait_until(lambda: "Conseil municipal du 12 mars" in celery_worker_process.sent_mails(),
               timeout=60, what="the worker to e-mail the notification")
    mails = celery_worker_process.sent_mails()
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert f"To: {agent.email}" in mails
    output = celery_worker_process.output()
    assert "beat: Starting..." in output  # `python -m mairie worker` embeds the scheduler
    assert "mairie.core.notifications.tasks.send_notification_email" in output
    assert "succeeded" in output


def test_the_daily_digest_runs_on_the_worker(celery_worker_process, organisation, agent,
                                             resident):
    for user in (agent, resident):
        NotificationPreference.objects.create(user=user, kind="system.announcement",
                                              frequency=Frequency.DAILY)
    notify(organisation=organisation, recipients=[agent, resident],
           kind="system.announcement", title="Travaux rue des Lilas")
    send_daily_digests.delay()
    wait_until(lambda: NotificationDigest.objects.count() == 2, timeout=60,
               what="the worker to send both digests")
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    mails = celery_worker_process.sent_mails()
    assert mails.count("Travaux rue des Lilas") >= 2
    assert f"To: {agent.email}" in mails and f"To: {resident.email}" in mails
    # idempotent: a second run on the worker sends nothing more
    again = send_daily_digests.delay()
    wait_until(lambda: f"{again.id}] succeeded" in celery_worker_process.output(),
               timeout=60, what="the second digest run")
    assert NotificationDigest.objects.count() == 2
