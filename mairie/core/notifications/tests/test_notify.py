"""notify(): stored per recipient, pushed and e-mailed only after commit, per preferences."""

import pytest
from django.core import mail
from django.db import transaction

from mairie.core.factories import UserFactory
from mairie.core.notifications.kinds import UnknownKind
from mairie.core.notifications.models import Frequency, Notification, NotificationPreference
from mairie.core.notifications.services import notify

pytestmark = pytest.mark.django_db


def test_one_notification_per_recipient_and_one_email_each_after_commit(
        organisation, agent, resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notify(organisation=organisation, recipients=[agent, resident, agent],
                         kind="system.announcement", title="Mairie fermée lundi",
                         body="Pour cause d'inventaire.", url="/agent/")
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 2
    assert {n.recipient for n in created} == {agent, resident}
    assert Notification.objects.filter(organisation=organisation).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([agent.email, resident.email])
    message = next(m for m in mail.outbox if m.to == [agent.email])
    assert "Mairie fermée lundi" in message.subject
    assert "Commune de Valmont-Test" in message.subject
    assert "Pour cause d'inventaire." in message.body
    assert "http://testserver/agent/" in message.body  # absolute link, organisation's host
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<html lang="fr">' in html and "Mairie fermée lundi" in html
    assert all(n.emailed_at is not None for n in Notification.objects.all())


def test_rolled_back_action_sends_nothing(organisation, agent,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                notify(organisation=organisation, recipients=[agent],
                       kind="system.announcement", title="Jamais envoyé")
                raise RuntimeError("the action failed")
        except RuntimeError:
            pass
    assert mail.outbox == []
    assert not Notification.objects.exists()


@pytest.mark.parametrize("frequency", [Frequency.DAILY, Frequency.NEVER])
def test_no_immediate_email_unless_preferred(organisation, agent, frequency,
                                             django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=agent, kind="system.announcement",
                                          frequency=frequency)
    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=organisation, recipients=[agent], kind="system.announcement",
               title="Réunion de service")
    assert mail.outbox == []
    assert Notification.objects.get().emailed_at is None


def test_kind_default_frequency_applies_without_preference(organisation, agent, daily_kind,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=organisation, recipients=[agent], kind=daily_kind,
               title="Résumé plus tard")
    assert mail.outbox == []


def test_email_is_rendered_in_the_recipients_language(organisation,
                                                       django_capture_on_commit_callbacks):
    english = UserFactory(organisation=organisation, language="en", email="en@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=organisation, recipients=[english], kind="system.announcement",
               title="Closed on Monday")
    html = mail.outbox[0].alternatives[0][0]
    assert '<html lang="en">' in html
    assert mail.outbox[0].extra_headers["Content-Language"] == "en"


def test_refuses_unknown_kind_foreign_recipient_and_script_links(organisation, agent,
                                                                 foreign_agent):
    with pytest.raises(UnknownKind):
        notify(organisation=organisation, recipients=[agent], kind="nope", title="x")
    with pytest.raises(ValueError):
        notify(organisation=organisation, recipients=[foreign_agent],
               kind="system.announcement", title="Fuite entre collectivités")
    for url in ["javascript:alert(1)", "//evil.example/", "data:text/html,hi"]:
        with pytest.raises(ValueError):
            notify(organisation=organisation, recipients=[agent], kind="system.announcement",
                   title="x", url=url)
    assert not Notification.objects.exists()


def test_inactive_users_are_skipped(organisation, django_capture_on_commit_callbacks):
    gone = UserFactory(organisation=organisation, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(organisation=organisation, recipients=[gone],
                      kind="system.announcement", title="x") == []
    assert mail.outbox == []
