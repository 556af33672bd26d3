"""Reads are scoped to the user and the organisation; writes check the recipient again."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied

from mairie.core.notifications import emails
from mairie.core.notifications.kinds import (
    get_kind,
    kinds_for,
    register_kind,
    unregister_kind,
)
from mairie.core.notifications.queries import notifications_for, unread_count_for
from mairie.core.notifications.rules import abilities
from mairie.core.notifications.services import (
    deliver_notification_email,
    mark_all_read,
    mark_read,
    notify,
)

pytestmark = pytest.mark.django_db


def _announce(organisation, users, title="Annonce"):
    return notify(organisation=organisation, recipients=users, kind="system.announcement",
                  title=title)


def test_notifications_for_is_own_and_same_organisation_only(organisation, other_organisation,
                                                              agent, resident, foreign_agent):
    mine = _announce(organisation, [agent], "À moi")[0]
    _announce(organisation, [resident], "À l'habitant")
    _announce(other_organisation, [foreign_agent], "Ailleurs")
    assert list(notifications_for(agent, organisation)) == [mine]
    assert list(notifications_for(agent, other_organisation)) == []
    assert list(notifications_for(foreign_agent, organisation)) == []
    assert list(notifications_for(AnonymousUser(), organisation)) == []
    assert unread_count_for(agent, organisation) == 1


def test_only_the_recipient_may_mark_as_read(organisation, agent, resident, administrator):
    notification = _announce(organisation, [agent])[0]
    for intruder in (resident, administrator, AnonymousUser()):
        assert abilities(intruder, notification) == {"view": False, "mark_read": False}
        with pytest.raises(PermissionDenied):
            mark_read(actor=intruder, notification=notification)
    notification.refresh_from_db()
    assert notification.read_at is None
    assert abilities(agent, notification) == {"view": True, "mark_read": True}
    mark_read(actor=agent, notification=notification)
    assert abilities(agent, notification)["mark_read"] is False
    with pytest.raises(PermissionDenied):
        mark_all_read(actor=AnonymousUser(), organisation=organisation)


def test_an_email_goes_out_once_even_if_the_task_runs_twice(organisation, agent):
    notification = _announce(organisation, [agent])[0]  # on_commit not run: nothing sent yet
    assert deliver_notification_email(notification_id=notification.pk) is True
    assert deliver_notification_email(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1


def test_a_failed_send_releases_the_claim_for_the_retry(organisation, agent, monkeypatch):
    notification = _announce(organisation, [agent])[0]

    def smtp_down(**kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(emails, "_send", smtp_down)
    with pytest.raises(OSError):
        deliver_notification_email(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.emailed_at is None
    monkeypatch.undo()
    assert deliver_notification_email(notification_id=notification.pk) is True


def test_registry_lists_kinds_by_audience_and_refuses_conflicts():
    register_kind("tests.residents_only", "Pour les habitants", for_agents=False)
    try:
        assert "tests.residents_only" not in [k.code for k in kinds_for(is_agent=True)]
        assert "tests.residents_only" in [k.code for k in kinds_for(is_agent=False)]
        register_kind("tests.residents_only", "Pour les habitants", for_agents=False)  # same
        with pytest.raises(ValueError):
            register_kind("tests.residents_only", "Autre libellé")
        with pytest.raises(ValueError):
            register_kind("tests.bad", "x", default_frequency="hourly")
    finally:
        unregister_kind("tests.residents_only")
    assert str(get_kind("system.announcement").label) == "Annonces de la collectivité"
