"""Daily digests: one e-mail per user listing their pending "daily" notifications, once."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from mairie.core.factories import UserFactory
from mairie.core.notifications.models import (
    Frequency,
    Notification,
    NotificationDigest,
    NotificationPreference,
)
from mairie.core.notifications.services import notify, send_daily_digests
from mairie.core.notifications.tasks import send_daily_digests as send_daily_digests_task

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _at(hour: int, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=PARIS)


@pytest.fixture
def daily_agent(agent):
    NotificationPreference.objects.create(user=agent, kind="system.announcement",
                                          frequency=Frequency.DAILY)
    return agent


def _announce(organisation, users, title):
    return notify(organisation=organisation, recipients=users, kind="system.announcement",
                  title=title, url="/agent/")


def test_one_digest_per_user_lists_pending_daily_notifications(organisation, daily_agent,
                                                               resident):
    _announce(organisation, [daily_agent, resident], "Fermeture exceptionnelle")
    _announce(organisation, [daily_agent], "Nouveau règlement intérieur")
    mail.outbox.clear()  # the resident wants announcements immediately (default): sent already
    assert send_daily_digests(now=_at(8)) == 1
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == [daily_agent.email]
    assert "résumé du jour : 2 notifications" in digest.subject
    assert "Fermeture exceptionnelle" in digest.body
    assert "Nouveau règlement intérieur" in digest.body
    assert "http://testserver/agent/" in digest.body
    html = digest.alternatives[0][0]
    assert "Fermeture exceptionnelle" in html and '<html lang="fr">' in html
    assert not Notification.objects.filter(recipient=daily_agent, emailed_at__isnull=True)
    record = NotificationDigest.objects.get()
    assert record.recipient == daily_agent and record.notification_count == 2


def test_running_again_sends_nothing(organisation, daily_agent):
    _announce(organisation, [daily_agent], "Une fois")
    assert send_daily_digests(now=_at(8)) == 1
    assert send_daily_digests(now=_at(9)) == 0
    assert send_daily_digests(now=_at(8, day=11)) == 0  # nothing new the next day either
    assert len(mail.outbox) == 1


def test_at_most_one_digest_a_day_and_not_before_the_digest_hour(organisation, daily_agent,
                                                                 settings):
    settings.MAIRIE_NOTIFICATION_DIGEST_HOUR = 7
    _announce(organisation, [daily_agent], "Première")
    assert send_daily_digests(now=_at(6)) == 0  # too early, local time
    assert send_daily_digests(now=_at(7)) == 1
    _announce(organisation, [daily_agent], "Arrivée dans la matinée")
    assert send_daily_digests(now=_at(15)) == 0  # already had today's digest
    assert send_daily_digests(now=_at(7, day=11)) == 1
    assert "Arrivée dans la matinée" in mail.outbox[-1].body
    assert "Première" not in mail.outbox[-1].body


def test_kind_default_daily_counts_and_read_or_never_kinds_are_left_out(organisation, agent,
                                                                       daily_kind):
    notify(organisation=organisation, recipients=[agent], kind=daily_kind, title="Par défaut")
    seen = notify(organisation=organisation, recipients=[agent], kind=daily_kind,
                  title="Déjà lue dans l'application")[0]
    Notification.objects.filter(pk=seen.pk).update(read_at=seen.created_at)
    NotificationPreference.objects.create(user=agent, kind="organisation.role_changed",
                                          frequency=Frequency.NEVER)
    notify(organisation=organisation, recipients=[agent], kind="organisation.role_changed",
           title="Jamais par courriel")
    mail.outbox.clear()
    assert send_daily_digests(now=_at(8)) == 1
    body = mail.outbox[0].body
    assert "Par défaut" in body
    assert "Déjà lue" not in body and "Jamais par courriel" not in body


def test_one_refused_address_does_not_block_the_others(organisation, daily_agent, monkeypatch):
    other = UserFactory(organisation=organisation, email="autre@example.org")
    NotificationPreference.objects.create(user=other, kind="system.announcement",
                                          frequency=Frequency.DAILY)
    _announce(organisation, [daily_agent, other], "Pour tous")
    from mairie.core.notifications import emails

    real_send = emails._send

    def refuse_one(*, to, **kwargs):
        if to == daily_agent.email:
            raise OSError("550 mailbox unavailable")
        return real_send(to=to, **kwargs)

    monkeypatch.setattr(emails, "_send", refuse_one)
    assert send_daily_digests(now=_at(8)) == 1
    assert [m.to for m in mail.outbox] == [[other.email]]
    # the refused one is still pending and goes out on a later run
    assert Notification.objects.get(recipient=daily_agent).emailed_at is None
    monkeypatch.setattr(emails, "_send", real_send)
    assert send_daily_digests(now=_at(9)) == 1


def test_the_celery_task_sends_the_digests(organisation, daily_agent, settings):
    settings.MAIRIE_NOTIFICATION_DIGEST_HOUR = 0
    _announce(organisation, [daily_agent], "Par la tâche")
    result = send_daily_digests_task.delay()  # eager in tests; a real worker in test_worker
    assert result.get() == 1
    assert "Par la tâche" in mail.outbox[0].body
    assert send_daily_digests_task.delay().get() == 0


def test_the_command_for_cron_sends_the_digests(organisation, daily_agent, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.MAIRIE_NOTIFICATION_DIGEST_HOUR = 0
    _announce(organisation, [daily_agent], "Par cron")
    out = StringIO()
    call_command("send_notification_digests", stdout=out)
    assert "1 résumé(s) envoyé(s)." in out.getvalue()
    assert "Par cron" in mail.outbox[0].body
