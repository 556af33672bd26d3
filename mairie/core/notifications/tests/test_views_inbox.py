"""The inbox pages: own notifications only, unread in bold, mark as read without JavaScript."""

import pytest
from django.urls import reverse

from mairie.core.factories import UserFactory
from mairie.core.notifications.models import Notification
from mairie.core.notifications.services import notify

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")
MARK_ALL = reverse("notifications:mark-all-read")


def _notify(organisation, user, title, **kwargs):
    return notify(organisation=organisation, recipients=[user], kind="system.announcement",
                  title=title, **kwargs)[0]


def _mark_url(notification):
    return reverse("notifications:mark-read", args=[notification.pk])


def test_agent_sees_own_notifications_in_the_workspace_unread_in_bold(client, organisation,
                                                                       agent, resident):
    read = _notify(organisation, agent, "Note déjà lue")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    _notify(organisation, agent, "Nouvelle consigne", url="/agent/")
    _notify(organisation, resident, "Message pour un habitant")
    client.force_login(agent)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Espace agent" in html  # agent/base.html
    assert '<strong><a href="/agent/">Nouvelle consigne</a>' in html.replace("\n", "")
    assert "Non lue" in html  # not conveyed by weight alone
    assert "<strong>" not in html.split("Note déjà lue")[0].rsplit("<li", 1)[1]
    assert "Message pour un habitant" not in html
    assert "1 notification non lue." in html
    assert 'src="/static/notifications/live.js"' in html


def test_resident_sees_their_inbox_in_the_portal_layout(client, organisation, resident):
    _notify(organisation, resident, "Votre demande avance")
    client.force_login(resident)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Votre demande avance" in html
    assert "Espace agent" not in html
    assert 'src="/static/notifications/live.js"' in html


def test_anonymous_is_sent_to_login(client, organisation):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_other_organisation_sees_none_of_ours(client, organisation, agent, foreign_agent):
    _notify(organisation, agent, "Affaire interne de Valmont")
    client.force_login(foreign_agent)
    response = client.get(LIST, HTTP_HOST="autre.localhost")
    assert response.status_code == 200
    assert "Affaire interne de Valmont" not in response.content.decode()
    # and our agent's session is worthless on the other organisation's host
    client.force_login(agent)
    response = client.get(LIST, HTTP_HOST="autre.localhost")
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_mark_read_without_javascript_returns_to_the_page(client, organisation, agent):
    notification = _notify(organisation, agent, "À lire")
    client.force_login(agent)
    response = client.post(_mark_url(notification), {"next": LIST + "?page=1"})
    assert response.status_code == 302 and response["Location"] == LIST + "?page=1"
    notification.refresh_from_db()
    assert notification.read_at is not None
    page = client.get(LIST).content.decode()
    assert "Aucune notification non lue." in page
    assert "Marquer comme lue" not in page


def test_mark_read_ignores_a_foreign_next_url(client, organisation, agent):
    notification = _notify(organisation, agent, "À lire")
    client.force_login(agent)
    response = client.post(_mark_url(notification), {"next": "https://evil.example/"})
    assert response["Location"] == LIST


def test_nobody_else_can_mark_someone_elses_notification(client, organisation, agent, resident,
                                                         service, foreign_agent):
    from mairie.core.factories import agent_factory
    from mairie.core.organisation.models import Role

    notification = _notify(organisation, agent, "Privé")
    colleague_admin = agent_factory(service=service, role=Role.ADMINISTRATOR)
    for user, host in [(resident, "testserver"), (colleague_admin, "testserver"),
                       (foreign_agent, "autre.localhost")]:
        client.force_login(user)
        assert client.post(_mark_url(notification), HTTP_HOST=host).status_code == 404
    client.logout()
    response = client.post(_mark_url(notification))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert client.get(_mark_url(notification)).status_code in (302, 405)
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_touches_only_own_notifications(client, organisation, agent, resident):
    for i in range(3):
        _notify(organisation, agent, f"Agent {i}")
    theirs = _notify(organisation, resident, "Habitant")
    client.force_login(agent)
    response = client.post(MARK_ALL)
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    follow = client.get(response["Location"])
    assert "3 notifications marquées comme lues." in follow.content.decode()


def test_get_cannot_change_anything(client, organisation, agent):
    notification = _notify(organisation, agent, "x")
    client.force_login(agent)
    assert client.get(MARK_ALL).status_code == 405
    assert client.get(_mark_url(notification)).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_list_is_paginated(client, organisation, resident):
    for i in range(25):
        _notify(organisation, resident, f"Notification numéro {i:02d}")
    client.force_login(resident)
    first = client.get(LIST).content.decode()
    second = client.get(LIST + "?page=2").content.decode()
    assert first.count('class="notification notification-unread"') == 20
    assert second.count('class="notification notification-unread"') == 5
    assert "Notification numéro 24" in first and "Notification numéro 00" in second
    assert "Page 2 sur 2" in second


@pytest.mark.parametrize("user_fixture", ["agent", "resident"])
def test_list_query_count_does_not_grow_with_notifications(client, organisation, request,
                                                           user_fixture,
                                                           django_assert_max_num_queries):
    user = request.getfixturevalue(user_fixture)
    actor = UserFactory(organisation=organisation)
    client.force_login(user)
    for i in range(3):
        _notify(organisation, user, f"n{i}", actor=actor)
    with django_assert_max_num_queries(16) as few:
        assert client.get(LIST).status_code == 200
    for i in range(40):
        _notify(organisation, user, f"m{i}", actor=UserFactory(organisation=organisation))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(LIST).status_code == 200
